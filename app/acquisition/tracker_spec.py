"""Which tracker a session reads: ``sim``, ``lsl:NAME``, ``lsl-id:SOURCE_ID`` or ``replay:FILE``.

:func:`parse_tracker_spec` turns the operator's text (``povlab run --tracker``, the window's tracker
picker) into a :class:`TrackerSpec`; :class:`LslTrackerConnector` connects it once the session's
protocol is loaded: it starts the simulated tracker (following the session's markers) or the replay
when the spec asks for one, and finds the gaze stream on LSL. The entry layer builds the connector;
the session only sees the :class:`app.core.ports.TrackerConnector` interface.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from app.acquisition.discovery import StreamDescription, find_gaze_stream
from app.core.errors import TrackerError
from app.core.protocol import Protocol

if TYPE_CHECKING:  # imported where they are started: a session on a real tracker never loads them
    from app.acquisition.replay import Replayer
    from app.acquisition.sim_tracker import SimulatedTracker

TrackerKind = Literal["sim", "lsl", "lsl-id", "replay"]
KINDS: tuple[TrackerKind, ...] = ("sim", "lsl", "lsl-id", "replay")
SPEC_HELP = "sim, lsl (the one gaze stream), lsl:NAME, lsl-id:SOURCE_ID or replay:FILE"


@dataclass(frozen=True)
class TrackerSpec:
    kind: TrackerKind
    arg: str = ""  # the stream name, source_id or file; empty for sim

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TrackerError(f"tracker kind {self.kind!r}: expected {SPEC_HELP}")
        if (self.kind == "sim" and self.arg) or (self.kind in ("lsl-id", "replay") and not self.arg):
            raise TrackerError(f"--tracker {self}: expected {SPEC_HELP}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


def parse_tracker_spec(text: str) -> TrackerSpec:
    """``sim`` | ``lsl`` | ``lsl:NAME`` | ``lsl-id:SOURCE_ID`` | ``replay:FILE``; TrackerError otherwise.

    ``lsl`` (or ``lsl:``) takes the one gaze stream that answers (several: refused, see
    :func:`app.acquisition.discovery.choose_stream`)."""
    kind, sep, arg = text.partition(":")
    if kind not in KINDS or (kind == "sim" and sep) or (kind in ("lsl-id", "replay") and not arg):
        raise TrackerError(f"--tracker {text!r}: expected {SPEC_HELP}")
    return TrackerSpec(cast(TrackerKind, kind), arg)


class LslTracker:
    """A connected LSL tracker (implements :class:`app.core.ports.TrackerConnection`)."""

    def __init__(self, spec: TrackerSpec, stream: StreamDescription, sim: SimulatedTracker | None = None,
                 replay: Replayer | None = None) -> None:
        self._spec, self._stream = spec, stream
        self._sim, self._replay = sim, replay

    @property
    def spec(self) -> str:
        return str(self._spec)

    @property
    def stream(self) -> StreamDescription:
        return self._stream

    @property
    def channels_mapped(self) -> bool:
        return self._spec.kind == "replay"

    def wait_until_ready(self, timeout_s: float) -> None:
        """The simulated tracker must be subscribed to the markers before the first one is pushed."""
        sim = self._sim
        if sim is None:
            return
        deadline = time.monotonic() + timeout_s
        while not sim.following_markers and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        _stop(self._sim, self._replay)
        self._sim = self._replay = None


def _stop(sim: SimulatedTracker | None, replay: Replayer | None) -> None:
    if sim is not None:
        sim.stop()
    if replay is not None:
        replay.stop()


@dataclass(frozen=True)
class LslTrackerConnector:
    """Connects a :class:`TrackerSpec` (implements :class:`app.core.ports.TrackerConnector`)."""

    spec: TrackerSpec
    sim_rate_hz: float = 1000.0
    seed: int | None = None  # of the simulated tracker
    timeout_s: float = 5.0  # wait this long for the stream to appear
    mapping: str | None = None  # --channels / --preset of a replayed file (applied to the file, see replay)
    preset: str | None = None
    stream: str | None = None  # which stream of a replayed XDF file (--stream)

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise TrackerError(f"tracker timeout must be > 0 s, got {self.timeout_s}")

    def connect(self, protocol: Protocol, markers_source_id: str) -> LslTracker:
        spec = self.spec
        sid = f"povlab-{uuid.uuid4().hex[:10]}"
        if spec.kind == "sim":
            from app.acquisition.sim_tracker import SimulatedTracker

            sim = SimulatedTracker(rate_hz=self.sim_rate_hz, protocol=protocol, source_id=f"{sid}-sim",
                                   markers_source_id=markers_source_id, seed=self.seed).start()
            return self._found(sim=sim, source_id=f"{sid}-sim")
        if spec.kind == "replay":
            from app.acquisition.replay import Replayer, prepare_replay

            screen = (protocol.screen.width_px, protocol.screen.height_px)
            rec, _ = prepare_replay(Path(spec.arg), stream=self.stream, mapping=self.mapping, preset=self.preset,
                                    screen_px=screen)
            replay = Replayer(rec, source_id=f"{sid}-replay")
            replay.open()
            threading.Thread(target=replay.run, name="replay", daemon=True).start()
            return self._found(replay=replay, source_id=f"{sid}-replay")
        if spec.kind == "lsl-id":
            return LslTracker(spec, find_gaze_stream(source_id=spec.arg, timeout=self.timeout_s))
        return LslTracker(spec, find_gaze_stream(name=spec.arg or None, timeout=self.timeout_s))

    def _found(self, source_id: str, sim: SimulatedTracker | None = None,
               replay: Replayer | None = None) -> LslTracker:
        """The stream of a tracker this connector started; the tracker is stopped again if it never appears."""
        try:
            stream = find_gaze_stream(source_id=source_id, timeout=self.timeout_s)
        except BaseException:
            _stop(sim, replay)
            raise
        return LslTracker(self.spec, stream, sim=sim, replay=replay)
