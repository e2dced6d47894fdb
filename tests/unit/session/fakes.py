"""Fake parts of a session (:class:`app.core.ports.SessionParts`, a tracker connector): no LSL, no XDF, no ONNX.

:class:`Rig` builds them and keeps one log of what was built, started and stopped; its fake tracker follows the
markers (as the simulated tracker does) and writes the gaze of each stimulus when it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.core.errors import RecordingError
from app.core.gaze import GazeBlock, GazeRingBuffer
from app.core.gaze_events import GazeEvent
from app.core.geometry import ScreenGeometry
from app.core.layout import layout_trial
from app.core.markers import parse_marker
from app.core.ports import (
    AcquisitionHooks,
    OnlineEventDetector,
    SessionAcquisition,
    SessionModel,
    SessionOutlet,
    SessionParts,
    SessionRecorder,
    TrackerConnection,
)
from app.core.protocol import Protocol
from app.core.streams import PREDICTIONS, StreamSpec

RATE = 1000.0
PROBS = (0.7, 0.2, 0.1)  # the fake model's answer: always "yes"
WAIT_S = 20.0  # the longest the fake tracker waits for the pipeline, once (a bound against a hang, not a timing check)


@dataclass(frozen=True)
class FakeStream:
    name: str = "Fake-Tracker"
    source_id: str = "fake-tracker-1"
    rate_hz: float = RATE
    hostname: str = "bench-host"
    labels: tuple[str, ...] = ("x", "y")
    uid: str = "fake-uid"


class FakeLayout:
    def describe(self) -> str:
        return "fake layout: x, y in pixels"

    def to_record(self) -> dict[str, object]:
        return {"source": "fake", "channels": [0, 1]}


@dataclass(frozen=True)
class Counts:
    received: int
    lost: int
    invalid: int
    gaps: int


@dataclass
class Stat:
    name: str
    count: int


class Rig:
    """A fake tracker that follows the markers (as the simulated tracker does) and every other part of a session,
    with one log of what was built, started and stopped."""

    def __init__(self, protocol: Protocol, *, stream: FakeStream | None = None, fail_stop: str | None = None,
                 disk_full_at: str | None = None, measured_rate: float | None = None,
                 fail_start: str | None = None) -> None:
        """``fail_start``: the part whose opening or start raises (``"fixations outlet"``, ``"recorder"``,
        ``"acquisition"``)."""
        self.protocol = protocol
        self.stream = stream or FakeStream()
        self.fail_stop, self.disk_full_at, self.measured_rate = fail_stop, disk_full_at, measured_rate
        self.fail_start = fail_start
        self.log: list[str] = []
        self.buffer = GazeRingBuffer(60.0, RATE)
        self.outlets: dict[str, FakeOutlet] = {}
        self.recorder: FakeRecorder | None = None
        self.acquisition: FakeAcquisition | None = None
        self.model = FakeModel()
        self.detectors: list[tuple[ScreenGeometry, float, str]] = []
        self.closed = 0
        self.predicted = threading.Condition()
        self.missed: list[int] = []  # trials whose prediction the pipeline never made
        self._trial = 0
        self._onset = 0.0

    # -- the parts --------------------------------------------------------------------------------
    def parts(self) -> SessionParts:
        return SessionParts(open_outlet=self.open_outlet, open_recorder=self.open_recorder,
                            open_acquisition=self.open_acquisition, make_detector=self.make_detector,
                            load_model=self.load_model, clock=time.monotonic)

    def open_outlet(self, spec: StreamSpec, source_id: str) -> SessionOutlet:
        if self.fail_start == "fixations outlet" and spec.name.endswith("Fixations"):
            raise OSError("fake outlet: could not open")
        self.log.append(f"open {spec.name}")
        outlet = FakeOutlet(self, spec, source_id)
        self.outlets[spec.name] = outlet
        return outlet

    def open_recorder(self, path: Path, tracker_stream: Any, own_source_ids: Sequence[str], timeout_s: float,
                      on_error: Callable[[str], None]) -> SessionRecorder:
        if self.fail_start == "recorder":
            raise RecordingError("fake recorder: the session's own streams did not resolve")
        self.log.append("open recorder")
        self.recorder = FakeRecorder(self, path, tracker_stream, tuple(own_source_ids), timeout_s, on_error)
        return self.recorder

    def open_acquisition(self, stream: Any, *, screen_px: tuple[int, int], mapping: str | None, preset: str | None,
                         hooks: AcquisitionHooks) -> SessionAcquisition:
        self.log.append("open acquisition")
        self.acquisition = FakeAcquisition(self, stream, screen_px, mapping, preset, hooks)
        return self.acquisition

    def make_detector(self, screen: ScreenGeometry, rate_hz: float, method: str) -> OnlineEventDetector:
        self.detectors.append((screen, rate_hz, method))
        return BlockDetector()

    def load_model(self, path: Path, protocol: Protocol) -> SessionModel:
        self.log.append(f"load model {path.name}")
        return self.model

    # -- the fake tracker: the gaze of each stimulus, one fixation on its first AOI ------------------
    def on_marker(self, marker: str, timestamp: float) -> None:
        m = parse_marker(marker)
        if m.kind == "TRIALID":
            self._trial = int(m.args[0])
            if self.disk_full_at == marker and self.recorder is not None:
                self.recorder.fail("no space left on device")
        elif m.kind == "STIM_ONSET":
            self._onset = timestamp
        elif m.kind == "STIM_OFFSET" and self._trial:
            x0, y0, x1, y1 = layout_trial(self.protocol, self.protocol.all_trials[self._trial - 1]).aois[0].bbox
            t = np.linspace(self._onset + 0.001, timestamp, 50)
            with self.predicted:
                self.buffer.extend(t, np.full_like(t, (x0 + x1) / 2), np.full_like(t, (y0 + y1) / 2))
                # the trial's answer is written when it ends: wait until the pipeline has predicted it
                if self.missed or not self.predicted.wait_for(lambda: self._trial in self.predictions(), WAIT_S):
                    self.missed.append(self._trial)

    def predictions(self) -> list[int]:
        return [int(s[0]) for s, _ in self.outlets[PREDICTIONS.name].samples]


class FakeOutlet:
    def __init__(self, rig: Rig, spec: StreamSpec, source_id: str) -> None:
        self.rig, self.spec, self.source_id = rig, spec, source_id
        self.samples: list[tuple[Any, float | None]] = []
        self.closed = False

    def push(self, values: str | Sequence[float], timestamp: float | None = None) -> None:
        assert not self.closed, f"{self.spec.name}: pushed after close"
        with self.rig.predicted:
            self.samples.append((values if isinstance(values, str) else [float(v) for v in values], timestamp))
            self.rig.predicted.notify_all()
        if isinstance(values, str):
            assert timestamp is not None
            self.rig.on_marker(values, timestamp)

    def close(self) -> None:
        self.rig.log.append(f"close {self.spec.name}")
        self.closed = True


class FakeRecorder:
    def __init__(self, rig: Rig, path: Path, tracker_stream: Any, own: tuple[str, ...], timeout_s: float,
                 on_error: Callable[[str], None]) -> None:
        self.rig, self.path, self.tracker_stream, self.own, self.timeout_s = rig, path, tracker_stream, own, timeout_s
        self.on_error = on_error
        self.error: str | None = None
        self.stats: list[Stat] = []

    def start(self) -> None:
        self.rig.log.append("start recorder")

    def stop(self) -> None:
        self.rig.log.append("stop recorder")
        self.stats = [Stat(self.tracker_stream.name, self.rig.buffer.total_written),
                      *(Stat(name, len(o.samples)) for name, o in self.rig.outlets.items())]
        if self.rig.fail_stop == "recorder":
            raise OSError("fake recorder: could not close the file")

    def switch_stream(self, old_uid: str, info: Any) -> None:
        raise AssertionError("the tracker never changes in these tests")

    def fail(self, message: str) -> None:
        self.error = message
        self.on_error(message)


class FakeAcquisition:
    def __init__(self, rig: Rig, stream: FakeStream, screen_px: tuple[int, int], mapping: str | None,
                 preset: str | None, hooks: AcquisitionHooks) -> None:
        self.rig, self.stream, self.screen_px, self.mapping, self.preset = rig, stream, screen_px, mapping, preset
        self.hooks = hooks
        self.buffer = rig.buffer
        self.channel_map = FakeLayout()
        self.gaps: list[tuple[float, float]] = []
        self.rate_hz = stream.rate_hz

    @property
    def counters(self) -> Counts:
        return Counts(self.buffer.total_written, 2, 1, len(self.gaps))

    def start(self) -> None:
        if self.rig.fail_start == "acquisition":
            raise OSError("fake acquisition: the inlet would not open")
        self.rig.log.append("start acquisition")

    def stop(self) -> None:
        self.rig.log.append("stop acquisition")
        if self.rig.fail_stop == "acquisition":
            raise OSError("fake acquisition: the inlet would not close")

    def measured_rate_hz(self, timeout_s: float) -> float | None:
        return self.rig.measured_rate


class BlockDetector:
    """Each chunk of gaze is one fixation (the fake tracker writes one chunk per stimulus)."""

    def feed(self, block: GazeBlock) -> list[GazeEvent]:
        if len(block) == 0:
            return []
        return [GazeEvent("fixation", float(block.t[0]), float(block.t[-1]), float(block.t[-1] - block.t[0]),
                          float(np.mean(block.x)), float(np.mean(block.y)), float("nan"), float("nan"))]


class FakeModel:
    provider = "FakeExecutionProvider"

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, list[tuple[int, float]]]] = []
        self.personalised: list[int] = []

    def update(self, trial_id: str, participant_id: str, fixations: Sequence[tuple[int, float]]) -> list[float]:
        self.updates.append((trial_id, participant_id, list(fixations)))
        return list(PROBS)

    def personalise(self, participant_id: str, labelled_trials: Sequence[tuple[str, Sequence[tuple[int, float]], str]]
                    ) -> NDArray[np.float64]:
        self.personalised.append(len(labelled_trials))
        return np.array([0.1, -0.1, 0.0])


class FakeConnector:
    def __init__(self, stream: FakeStream) -> None:
        self.stream = stream
        self.connection: FakeConnection | None = None

    def connect(self, protocol: Protocol, markers_source_id: str) -> TrackerConnection:
        self.connection = FakeConnection(self.stream, markers_source_id)
        return self.connection


@dataclass
class FakeConnection:
    stream: FakeStream
    markers_source_id: str
    spec: str = "fake:tracker"
    channels_mapped: bool = False
    closed: int = 0
    ready: list[float] = field(default_factory=list)

    def wait_until_ready(self, timeout_s: float) -> None:
        self.ready.append(timeout_s)

    def close(self) -> None:
        self.closed += 1


