"""A simulated eye tracker: an LSL ``Gaze`` outlet that publishes realistic gaze in real time.

Usage::

    sim = SimulatedTracker(rate_hz=1000, protocol=protocol, source_id="sim-1", seed=1).start()
    ...   # GazeAcquisition.connect(source_id="sim-1") sees it like any tracker
    sim.stop()

The outlet (:data:`app.core.streams.SIM_GAZE`: left/right x/y in screen pixels, pupils in mm)
carries the XDF Gaze Meta-Data in ``desc/channels`` and the screen geometry in ``desc/screen``.
The gaze comes from :class:`app.core.synthetic_gaze.GazeStream`; samples are stamped on a
regular grid ``t0 + k / rate`` of the LSL clock and published ``latency_s`` after their time.

With a protocol the tracker follows the session's markers stream (``PovLab-Markers``, or the one
with ``markers_source_id``): ``STIM_ONSET`` of trial ``TRIALID n`` starts a reading-and-viewing
scanpath over that trial's layout (:func:`app.core.synthetic_gaze.plan_scanpath`), switched at the
marker's own time stamp; when the scanpath ends before ``STIM_OFFSET`` the eye keeps viewing the
image (its objects, or points of it). ``FIXCROSS_ONSET`` and ``STIM_OFFSET`` send the eye to the
screen centre, where it stays (with small re-fixations) between trials. A ``STIM_ONSET`` without a
``TRIALID`` since the previous one (the tracker subscribed late) is taken as the next trial.
Markers sent before :attr:`SimulatedTracker.following_markers` turns True are not seen: a session
that starts the tracker itself should wait for it before its first marker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from app.acquisition.outlets import Outlet, open_outlet
from app.core.errors import TrackerError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.layout import TrialLayout, layout_trial
from app.core.markers import parse_marker
from app.core.protocol import Protocol
from app.core.streams import MARKERS, SIM_GAZE
from app.core.synthetic_gaze import (
    GazeStream,
    SimParams,
    SyntheticGaze,
    Target,
    events_from_labels,
    plan_scanpath,
)

log = logging.getLogger(__name__)


class SimulatedTracker:
    """Publishes simulated binocular gaze on LSL until :meth:`stop` (see the module docstring)."""

    def __init__(self, rate_hz: float = 1000.0, geometry: ScreenGeometry | None = None,
                 params: SimParams | None = None, protocol: Protocol | None = None, source_id: str | None = None,
                 markers_source_id: str | None = None, seed: int | None = None, chunk_s: float = 0.01,
                 latency_s: float = 0.02, on_push: Callable[[float], None] | None = None) -> None:
        """``chunk_s``: time between pushes; ``latency_s``: how long after its time stamp a sample is pushed;
        ``on_push``: called after each push with the time stamp of the chunk's last sample (benchmarks)."""
        if not (60 <= rate_hz <= 2000):
            raise TrackerError(f"simulated tracker: rate must be within 60..2000 Hz, got {rate_hz:g}")
        self.rate_hz = float(rate_hz)
        self.geometry = geometry or (protocol.screen if protocol is not None else ScreenGeometry())
        self.params = params or SimParams()
        self.protocol = protocol
        self.source_id = source_id or f"povlab-sim-{uuid.uuid4().hex[:8]}"
        self.markers_source_id = markers_source_id
        if not (chunk_s > 0 and latency_s >= 0):
            raise TrackerError(f"simulated tracker: need chunk_s > 0 and latency_s >= 0, got {chunk_s}, {latency_s}")
        self.chunk_s, self.latency_s, self.on_push = chunk_s, latency_s, on_push
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._outlet: Outlet | None = None
        self._stream: GazeStream | None = None
        self._layouts: dict[int, TrialLayout] = {}
        self._trial = 0
        self._trial_announced = False
        self._showing: TrialLayout | None = None  # the trial on screen (between STIM_ONSET and STIM_OFFSET)
        self.samples_pushed = 0
        self.markers_seen = 0
        self.following_markers = False  # True once subscribed to the markers stream
        self.subscribe_s: dict[str, float] = {}  # how long each step of subscribing took (s), once it is done
        self.error: BaseException | None = None
        self._sink: list[SyntheticGaze] | None = None  # offline mode (simulate): samples collected here

    @property
    def info(self) -> Any:
        """The outlet's ``pylsl.StreamInfo``."""
        if self._outlet is None:
            raise TrackerError("simulated tracker not started")
        return self._outlet.info

    def start(self) -> SimulatedTracker:
        import pylsl

        g = self.geometry
        desc = {"screen": {"width_px": g.width_px, "height_px": g.height_px, "width_cm": g.width_cm,
                           "height_cm": g.height_cm, "distance_cm": g.distance_cm},
                "simulation": {"precision_rms_s2s_deg": self.params.precision_rms_s2s_deg,
                               "accuracy_offset_deg": " ".join(map(str, self.params.accuracy_offset_deg))}}
        self._outlet = open_outlet(SIM_GAZE, self.source_id, self.rate_hz, desc=desc)
        self._stream = GazeStream(self.rate_hz, g, self.params, self._rng, t0=pylsl.local_clock(),
                                  idle=self._idle_target)
        self._spawn(self._publish, "sim-gaze")
        if self.protocol is not None:
            self._spawn(self._follow_markers, "sim-markers")
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5.0)
        self._threads = []
        if self._outlet is not None:
            self._outlet.close()
            self._outlet = None
        if self.error is not None and os.environ.get("POVLAB_RAISE_WORKER_ERRORS") == "1":
            raise self.error

    def __enter__(self) -> SimulatedTracker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Any, name: str) -> None:
        def guarded() -> None:
            try:
                target()
            except BaseException as exc:
                self.error = exc
                log.exception("simulated tracker: %s failed", name)
                if os.environ.get("POVLAB_RAISE_WORKER_ERRORS") == "1":
                    raise

        t = threading.Thread(target=guarded, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    # publishing --------------------------------------------------------------------------------
    def simulate(self, markers: list[tuple[float, str]], t0: float, t_end: float) -> SyntheticGaze:
        """Offline, without LSL: the gaze this tracker would publish from ``t0`` to ``t_end`` while
        the session sends ``markers`` as (LSL time, text). Used by tests and headless dry runs."""
        self._stream = GazeStream(self.rate_hz, self.geometry, self.params, self._rng, t0=t0,
                                  idle=self._idle_target)
        self._sink = []
        try:
            for ts, text in sorted(markers, key=lambda m: m[0]):
                self.on_marker(text, ts)
            self._sink.append(self._stream.read_until(t_end))
            parts = [p for p in self._sink if len(p.block)]
        finally:
            self._sink = None
        t = np.concatenate([p.block.t for p in parts])
        labels = np.concatenate([p.labels for p in parts])
        block = GazeBlock(t, *(np.concatenate([getattr(p.block, f) for p in parts]) for f in ("x", "y", "pupil")))
        return SyntheticGaze(block, labels, events_from_labels(t, labels, self.rate_hz),
                             np.concatenate([p.target_index for p in parts]))

    def _push(self, g: SyntheticGaze) -> None:
        n = len(g.block)
        if self._sink is not None:
            self._sink.append(g)
            return
        if n == 0 or self._outlet is None:
            return
        b = g.block
        half = 0.1 * self.geometry.px_per_deg  # vergence: each eye 0.1 deg off the cyclopean gaze
        eye_noise = self._rng.normal(0, 0.25 * self.params.precision_rms_s2s_deg * self.geometry.px_per_deg, (n, 2))
        data = np.empty((n, 6))
        data[:, 0] = b.x - half + eye_noise[:, 0]
        data[:, 1] = b.y + eye_noise[:, 1]
        data[:, 2] = b.x + half - eye_noise[:, 0]  # the two eyes' noise cancels in their mean
        data[:, 3] = b.y - eye_noise[:, 1]
        data[:, 4] = b.pupil
        data[:, 5] = b.pupil * 1.02
        self._outlet.push_chunk(data, float(b.t[-1]))
        self.samples_pushed += n
        if self.on_push is not None:
            self.on_push(float(b.t[-1]))

    def _publish(self) -> None:
        import pylsl

        assert self._stream is not None
        while not self._stop.wait(self.chunk_s):
            with self._lock:
                self._push(self._stream.read_until(pylsl.local_clock() - self.latency_s))

    # following the session ---------------------------------------------------------------------
    def _follow_markers(self) -> None:
        import pylsl

        parts = [f"name='{MARKERS.name}'", f"type='{MARKERS.type}'"]
        if self.markers_source_id:
            parts.append(f"source_id='{self.markers_source_id}'")
        inlet = None
        t0 = time.monotonic()
        while inlet is None and not self._stop.is_set():
            found = pylsl.resolve_bypred(" and ".join(parts), 1, 0.5)
            if found:
                t1 = time.monotonic()
                inlet = pylsl.StreamInlet(found[0], processing_flags=pylsl.proc_clocksync)
                inlet.open_stream(timeout=5.0)
                t2 = time.monotonic()
                inlet.time_correction(timeout=5.0)  # the first estimate takes a while: not on a marker
                self.subscribe_s = {"resolve": t1 - t0, "open": t2 - t1, "time_correction": time.monotonic() - t2}
                self.following_markers = True
        while inlet is not None and not self._stop.is_set():
            sample, ts = inlet.pull_sample(timeout=0.05)
            if sample:
                self.on_marker(str(sample[0]), float(ts))

    def _idle_target(self) -> Target:
        """Where the eye goes when its plan is done: the shown image, else the screen centre."""
        rng, layout = self._rng, self._showing
        if layout is not None:
            objects = layout.object_aois
            if objects:
                x0, y0, x1, y1 = objects[int(rng.integers(len(objects)))].bbox
            else:
                x0, y0, x1, y1 = layout.image_rect
            return Target(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)), float(rng.uniform(0.25, 0.4)))
        jitter = rng.normal(0, 0.3 * self.geometry.px_per_deg, 2)
        return Target(self.geometry.width_px / 2 + jitter[0], self.geometry.height_px / 2 + jitter[1],
                      float(rng.uniform(0.4, 0.9)))

    def on_marker(self, text: str, timestamp: float) -> None:
        """React to one session marker (also callable directly, e.g. by an in-process session)."""
        m = parse_marker(text)
        self.markers_seen += 1
        if self._stream is not None:
            with self._lock:  # everything before the marker's time follows the old plan
                self._push(self._stream.read_until(timestamp))
        if m.kind == "TRIALID" and m.args:
            try:
                self._trial = int(m.args[0])
                self._trial_announced = True
            except ValueError:
                log.warning("simulated tracker: marker %r has no trial number", text)
            return
        targets: list[Target] | None = None
        if m.kind in ("FIXCROSS_ONSET", "STIM_OFFSET", "VALIDATION_END", "ABORT"):
            self._showing = None
            cx, cy = self.geometry.width_px / 2, self.geometry.height_px / 2
            targets = [Target(cx, cy, 0.5)]
        elif m.kind == "VALIDATION_TARGET" and len(m.args) >= 3:
            targets = [Target(float(m.args[1]), float(m.args[2]), 1.5)]
        elif m.kind == "STIM_ONSET":
            if not self._trial_announced:
                self._trial += 1  # its TRIALID came before we subscribed
            self._trial_announced = False
            layout = self._layout(self._trial)
            self._showing = layout
            if layout is not None and self.protocol is not None:
                targets = plan_scanpath(layout, self._rng, max_duration_s=self.protocol.timing.max_trial_s)
        if targets is None or self._stream is None:
            return
        with self._lock:
            self._push(self._stream.read_until(timestamp))
            self._stream.follow(targets)

    def _layout(self, number: int) -> TrialLayout | None:
        if self.protocol is None:
            return None
        trials = self.protocol.all_trials
        if not 1 <= number <= len(trials):
            log.warning("simulated tracker: marker names trial %d, the protocol has %d", number, len(trials))
            return None
        if number not in self._layouts:
            self._layouts[number] = layout_trial(self.protocol, trials[number - 1])
        return self._layouts[number]
