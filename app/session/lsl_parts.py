"""The parts a session builds at run time, as the app runs them: LSL outlets and inlet, the XDF recorder,
the online detector of :mod:`app.detection` and the ONNX Runtime predictor (:class:`app.core.ports.SessionParts`).

The entry layer (``povlab run``/``demo``, the operator window) hands :func:`lsl_parts` to the
:class:`app.session.runner.Session`; a test hands it fakes instead. The adapters are imported when a part is
built, so importing the session loads neither pylsl nor ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.core.errors import RecordingError
from app.core.geometry import ScreenGeometry
from app.core.ports import (
    AcquisitionHooks,
    OnlineEventDetector,
    SessionAcquisition,
    SessionModel,
    SessionOutlet,
    SessionParts,
    SessionRecorder,
)
from app.core.protocol import Protocol
from app.core.streams import StreamSpec


def lsl_parts() -> SessionParts:
    """The real parts: what ``povlab run`` and the operator window record with."""
    return SessionParts(open_outlet=_open_outlet, open_recorder=_open_recorder, open_acquisition=_open_acquisition,
                        make_detector=_make_detector, load_model=_load_model, clock=_lsl_clock)


def _open_outlet(spec: StreamSpec, source_id: str) -> SessionOutlet:
    from app.acquisition.outlets import open_outlet

    return open_outlet(spec, source_id)


def _lsl_clock() -> float:
    from app.acquisition.outlets import lsl_clock

    return lsl_clock()


def _open_recorder(path: Path, tracker_stream: Any, own_source_ids: Sequence[str], timeout_s: float,
                   on_error: Callable[[str], None]) -> SessionRecorder:
    """The XDF recorder of the tracker's stream and of the session's own outlets, as LSL resolves them."""
    from app.acquisition.discovery import find_streams
    from app.recording.xdf_recorder import XdfRecorder

    own = [_own_stream(find_streams, s, timeout_s) for s in own_source_ids]
    return XdfRecorder(path, [d.resolved or d.info for d in (tracker_stream, *own)], on_error=on_error)


def _open_acquisition(stream: Any, *, screen_px: tuple[int, int], mapping: str | None, preset: str | None,
                      hooks: AcquisitionHooks) -> SessionAcquisition:
    from app.acquisition.inlet import GazeAcquisition

    return GazeAcquisition(stream, screen_px=screen_px, mapping=mapping, preset=preset, on_gap=hooks.on_gap,
                           on_gap_start=hooks.on_gap_start, on_stream_changed=hooks.on_stream_changed,
                           on_warning=hooks.on_warning)


def _make_detector(screen: ScreenGeometry, rate_hz: float, method: str) -> OnlineEventDetector:
    from app.detection.online import OnlineDetector

    # a reconnecting stream may repeat time stamps: the detector drops (and counts) those
    return OnlineDetector(screen, rate_hz, method=method, drop_disordered=True)


def _load_model(path: Path, protocol: Protocol) -> SessionModel:
    from app.inference.predictor import LivePredictor

    return LivePredictor.load(path, protocol)


def _own_stream(find_streams: Any, source_id: str, timeout_s: float, tries: int = 3) -> Any:
    """The session's own outlet as LSL resolves it (the recorder subscribes to it like any other stream).

    It lives in this process, so it answers at once on a quiet machine; on a loaded one a resolve can miss
    it, so it is asked again before the session gives up with a clear line (never an IndexError).
    """
    for _ in range(tries):
        found = find_streams(source_id=source_id, timeout=timeout_s)
        if found:
            return found[0]
    raise RecordingError(f"the session's own LSL stream {source_id!r} could not be resolved on this machine "
                         f"within {tries} x {timeout_s:g} s (is the LSL configuration blocking loopback?)")
