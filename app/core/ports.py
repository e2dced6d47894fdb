"""Ports: what the session needs from the outside world, as typed interfaces (structural Protocols).

The session (``app/session``) is written against these; the concrete parts live in the adapters
(``app/acquisition`` for LSL trackers, ...) and the entry layer (``app/commands``) wires them in.
A test can hand the session a fake that implements the same methods.

The tracker: :class:`TrackerConnector` finds (or starts) it and gives a :class:`TrackerConnection`.

The live path (:class:`app.session.live.LivePipeline`; its unit test drives it with fakes, no LSL, no ONNX):

- :class:`GazeSource`: the samples the acquisition thread has written (:class:`app.core.gaze.GazeRingBuffer`);
  a reader takes what arrived since its index and can block until more arrives (event-driven, no polling).
- :class:`OnlineEventDetector`: push a chunk of samples, get the events it completed
  (:class:`app.detection.online.OnlineDetector`, or any other online detector).
- :class:`LiveModel`: the trial's fixations so far -> answer probabilities
  (:class:`app.inference.predictor.LivePredictor`).
- :class:`SampleOutlet`: one sample out (markers, fixations, predictions; :class:`app.acquisition.outlets.Outlet`).

What the session builds at run time comes in as one :class:`SessionParts` record of factories (the entry layer
passes :func:`app.session.lsl_parts.lsl_parts`, the LSL/XDF/ONNX parts; a test passes fakes):

- ``open_outlet`` -> :class:`SessionOutlet` (the markers, fixations and predictions streams);
- ``open_recorder`` -> :class:`SessionRecorder` (every stream of the run into one file);
- ``open_acquisition`` -> :class:`SessionAcquisition` (the tracker's gaze: a :class:`GazeBuffer` and counters);
- ``make_detector`` -> :class:`OnlineEventDetector`; ``load_model`` -> :class:`SessionModel`; ``clock`` (the markers' clock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from typing import Protocol as TypingProtocol

import numpy as np
from numpy.typing import NDArray

from app.core.gaze import GazeBlock
from app.core.gaze_events import GazeEvent
from app.core.gaze_quality import QualityWarning
from app.core.geometry import ScreenGeometry
from app.core.protocol import Protocol
from app.core.streams import StreamSpec


class TrackerConnection(TypingProtocol):
    """A tracker the session reads from: its gaze stream, found and described.

    When the connection started the tracker itself (the simulator, a replay), :meth:`close`
    stops it; for a tracker of its own (an LSL app of the vendor) :meth:`close` does nothing.
    """

    @property
    def spec(self) -> str:
        """How the tracker was chosen, as written into ``session.json`` (``sim``, ``lsl:NAME``, ...)."""
        ...

    @property
    def stream(self) -> Any:
        """The stream as the acquisition opens it (a ``StreamDescription`` for LSL trackers)."""
        ...

    @property
    def channels_mapped(self) -> bool:
        """Whether the stream's channels were mapped before it was published (a replay maps its file's channels
        when it reads the file): the session's ``--channels``/``--preset`` then do not apply to it."""
        ...

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until the tracker can follow the session's markers (at once for a real tracker)."""

    def close(self) -> None:
        """Stop what this connection started (idempotent)."""


class TrackerConnector(TypingProtocol):
    """Connects the tracker of a session once its protocol is loaded (nothing is written yet)."""

    def connect(self, protocol: Protocol, markers_source_id: str) -> TrackerConnection:
        """Find (or start) the tracker; ``markers_source_id`` names the markers stream the session will open."""
        ...


class GazeSource(TypingProtocol):
    """Gaze samples in arrival order, read by running index (samples ever written)."""

    @property
    def total_written(self) -> int:
        """Samples written so far (a reader's starting index)."""
        ...

    def since(self, total_index: int) -> tuple[GazeBlock, int]:
        """Samples written after ``total_index``, and the index to pass next time."""
        ...

    def wait_for_new(self, total_index: int, timeout: float) -> bool:
        """Block until samples after ``total_index`` exist (True), or ``timeout`` s pass or :meth:`wake` is called."""
        ...

    def wake(self) -> None:
        """Wake the readers blocked in :meth:`wait_for_new` (a reader being stopped)."""
        ...


class OnlineEventDetector(TypingProtocol):
    """Streaming event detection: each chunk in, the events that chunk completed out."""

    def feed(self, block: GazeBlock) -> Sequence[GazeEvent]:
        """Add samples later than all before; returns the events (fixations, saccades, ...) they completed."""
        ...


class LiveModel(TypingProtocol):
    """The live model: a trial's completed fixations -> probabilities of (yes, no, unclear)."""

    def update(self, trial_id: str, participant_id: str, fixations: Sequence[tuple[int, float]]
               ) -> NDArray[np.float64] | Sequence[float]:
        """``fixations``: (aoi_index, duration_s) in time order, aoi_index -1 off every AOI; 3 probabilities."""
        ...


class SampleOutlet(TypingProtocol):
    """One stream out (LSL in the app): one sample per call, stamped ``timestamp`` (LSL clock s) or now."""

    def push(self, values: str | Sequence[float], timestamp: float | None = None) -> None:
        ...


# -- what the session builds at run time ------------------------------------------------------------------------


class SessionOutlet(SampleOutlet, TypingProtocol):
    """One of the session's own streams (markers, fixations, predictions): samples out, closed at the end."""

    def close(self) -> None:
        ...


class GazeBuffer(GazeSource, TypingProtocol):
    """The gaze source of a running session; the validation reads what it holds."""

    def snapshot(self, last_s: float | None = None) -> GazeBlock:
        """The newest samples (all the buffer holds, or those of the last ``last_s`` seconds)."""
        ...


class GazeCounts(TypingProtocol):
    """What the acquisition counted (``session.json`` ``counters``)."""

    @property
    def received(self) -> int: ...
    @property
    def lost(self) -> int: ...
    @property
    def invalid(self) -> int: ...
    @property
    def gaps(self) -> int: ...


class GazeStream(TypingProtocol):
    """The tracker's stream as the session describes it (``session.json`` ``tracker``; a ``StreamDescription``)."""

    @property
    def name(self) -> str: ...
    @property
    def source_id(self) -> str: ...
    @property
    def rate_hz(self) -> float: ...
    @property
    def hostname(self) -> str: ...
    @property
    def labels(self) -> Sequence[str]: ...


class ChannelLayout(TypingProtocol):
    """How the tracker's channels became screen gaze (a ``ChannelMap``)."""

    def describe(self) -> str: ...
    def to_record(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class AcquisitionHooks:
    """What the acquisition tells the session, from its worker thread."""

    on_gap: Callable[[float, float], None]  # the stream came back: (last time stamp before, first after)
    on_gap_start: Callable[[float], None]  # the stream went silent (LSL time)
    on_stream_changed: Callable[[Any, Any, str | None], None]  # (old, new stream, why new cannot be mapped)
    on_warning: Callable[[QualityWarning], None]  # gaze quality (all NaN, time stamps backwards, ...)

    def __post_init__(self) -> None:
        _check_callables(self)


class SessionAcquisition(TypingProtocol):
    """The tracker's gaze on a worker thread (:class:`app.acquisition.inlet.GazeAcquisition`); the operator window
    polls :attr:`buffer` and :attr:`counters`."""

    @property
    def buffer(self) -> GazeBuffer: ...
    @property
    def counters(self) -> GazeCounts: ...
    @property
    def gaps(self) -> Sequence[tuple[float, float]]: ...
    @property
    def rate_hz(self) -> float:
        """The stream's nominal rate (0: it publishes none)."""
        ...
    @property
    def stream(self) -> GazeStream: ...
    @property
    def channel_map(self) -> ChannelLayout: ...

    def start(self) -> object: ...
    def stop(self) -> None: ...

    def measured_rate_hz(self, timeout_s: float) -> float | None:
        """The rate the time stamps show (waits up to ``timeout_s`` for enough samples; None: too few came)."""
        ...


class RecordedStream(TypingProtocol):
    """One stream of the recording and the samples written so far."""

    @property
    def name(self) -> str: ...
    @property
    def count(self) -> int: ...


class SessionRecorder(TypingProtocol):
    """Every stream of the run into one file (:class:`app.recording.xdf_recorder.XdfRecorder`)."""

    @property
    def error(self) -> str | None:
        """Why writing stopped (a full disk), None while it writes."""
        ...
    @property
    def stats(self) -> Sequence[RecordedStream]: ...

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def switch_stream(self, old_uid: str, info: Any) -> None:
        """Record the tracker's returned outlet ``info`` as a new stream in place of ``old_uid``."""
        ...


class SessionModel(LiveModel, TypingProtocol):
    """The live model of a session: predictions, the provider it runs on, and few-shot personalisation."""

    @property
    def provider(self) -> str: ...

    def personalise(self, participant_id: str, labelled_trials: Sequence[tuple[str, Sequence[tuple[int, float]], str]]
                    ) -> NDArray[np.float64]:
        """Refit the participant's bias from (trial_id, fixations, answer); returns the 3 biases."""
        ...


class RecorderFactory(TypingProtocol):
    def __call__(self, path: Path, tracker_stream: Any, own_source_ids: Sequence[str], timeout_s: float,
                 on_error: Callable[[str], None]) -> SessionRecorder:
        """A recorder (not started) of ``tracker_stream`` (the connection's stream) and the session's own outlets
        (by source_id, waiting up to ``timeout_s`` for each); ``on_error`` is told why writing stopped."""
        ...


class AcquisitionFactory(TypingProtocol):
    def __call__(self, stream: Any, *, screen_px: tuple[int, int], mapping: str | None, preset: str | None,
                 hooks: AcquisitionHooks) -> SessionAcquisition:
        """The acquisition (not started) of the connection's ``stream``; its channels are mapped here, so a stream
        with the wrong channels fails before anything is written."""
        ...


@dataclass(frozen=True)
class SessionParts:
    """Everything a session builds at run time, as factories: the session itself builds nothing concrete."""

    open_outlet: Callable[[StreamSpec, str], SessionOutlet]  # (spec, source_id)
    open_recorder: RecorderFactory
    open_acquisition: AcquisitionFactory
    make_detector: Callable[[ScreenGeometry, float, str], OnlineEventDetector]  # (screen, rate_hz, method)
    load_model: Callable[[Path, Protocol], SessionModel]  # (model file, protocol)
    clock: Callable[[], float]  # the clock the markers are stamped with (LSL time)

    def __post_init__(self) -> None:
        _check_callables(self)


def _check_callables(record: Any) -> None:
    for f in fields(record):
        if not callable(getattr(record, f.name)):
            raise TypeError(f"{type(record).__name__}.{f.name} must be callable, got {getattr(record, f.name)!r}")
