"""``povlab bench latency``: from the arrival over LSL of the sample that ends a fixation to the updated prediction.

The real live path, in process: the simulated tracker publishes gaze on LSL (loopback) while following the demo
protocol's trials; :class:`~app.acquisition.inlet.GazeAcquisition` pulls it into the ring buffer; the session's
:class:`~app.session.live.LivePipeline` runs online fixation detection, AOI mapping and
:class:`~app.inference.predictor.LivePredictor` on its worker thread.

Measured per prediction: ``local_clock()`` when :class:`PredictionUpdated` is emitted minus the time the inlet
wrote into the ring buffer the newest sample of the chunk whose arrival completed the fixation (the arrival of the
sample that ends it; LSL transport from the tracker's push adds well under a millisecond on loopback). This is
dominated by the polling periods (inlet 5 ms, pipeline 10 ms) and the detector's merge rule does not count: a
fixation can only end once a later sample has arrived.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from app.core.paths import DEMO_PROTOCOL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="ONNX model (default: the bundled one)")
    parser.add_argument("--protocol", default=str(DEMO_PROTOCOL))
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the simulated session")
    parser.add_argument("--rate", type=float, default=1000.0, help="simulated tracker rate (Hz)")
    parser.add_argument("--cpu", action="store_true", help="do not try CUDA")


class _NullOutlet:
    def push(self, values: Any, timestamp: float | None = None) -> None:
        return None


class _ArrivalClock:
    """Wraps the ring buffer's ``extend``: remembers when each written range of samples arrived."""

    def __init__(self, buffer: Any, clock: Any) -> None:
        self.buffer, self.clock = buffer, clock
        self.writes: deque[tuple[int, float]] = deque(maxlen=20000)  # (total_written after, arrival time)
        self._lock = threading.Lock()
        self._extend = buffer.extend
        buffer.extend = self.extend

    def extend(self, *args: Any, **kwargs: Any) -> None:
        self._extend(*args, **kwargs)
        with self._lock:
            self.writes.append((self.buffer.total_written, self.clock()))

    def arrival_of(self, total_index: int) -> float:
        """Arrival time of the sample with this running index (the first write that covered it)."""
        with self._lock:
            for end, t in self.writes:
                if end > total_index:
                    return t
        return float("nan")


class _StampedDetector:
    """The online detector, noting the running index of the newest sample of the chunk being fed."""

    def __init__(self, inner: Any, buffer: Any) -> None:
        self.inner, self.buffer = inner, buffer
        self.newest_index = -1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def feed(self, block: Any) -> Any:
        self.newest_index = self.buffer.total_written - 1
        return self.inner.feed(block)


def run(args: argparse.Namespace) -> dict:
    import pylsl

    from app.acquisition.discovery import find_gaze_stream
    from app.acquisition.inlet import GazeAcquisition
    from app.acquisition.sim_tracker import SimulatedTracker
    from app.core.protocol import load_protocol
    from app.detection.online import OnlineDetector
    from app.inference.predictor import LivePredictor
    from app.session.live import LivePipeline
    from app.session.updates import PredictionUpdated

    protocol = load_protocol(args.protocol)
    with tempfile.TemporaryDirectory() as tmp:
        predictor = LivePredictor.load(args.model, protocol, cache_dir=Path(tmp), prefer_cuda=not args.cpu)
    sid = f"povlab-bench-latency-{uuid.uuid4().hex[:8]}"
    tracker = SimulatedTracker(rate_hz=args.rate, protocol=protocol, source_id=sid, seed=0).start()
    acq = GazeAcquisition(find_gaze_stream(source_id=sid, timeout=10.0),
                          screen_px=(protocol.screen.width_px, protocol.screen.height_px))
    arrivals = _ArrivalClock(acq.buffer, pylsl.local_clock)
    detector = _StampedDetector(OnlineDetector(protocol.screen, acq.rate_hz if acq.rate_hz > 0 else args.rate),
                                acq.buffer)
    latencies: list[float] = []

    def emit(event: object) -> None:
        if isinstance(event, PredictionUpdated):
            latencies.append(pylsl.local_clock() - arrivals.arrival_of(detector.newest_index))

    live = LivePipeline(protocol, acq.buffer, detector, _NullOutlet(), _NullOutlet(), predictor, "P01", emit)
    acq.start()
    live.start()
    trials = list(protocol.all_trials)
    deadline = time.monotonic() + args.seconds
    n = 0
    try:
        while time.monotonic() < deadline:
            n += 1
            for text in (f"TRIALID {n}", "STIM_ONSET"):
                t = pylsl.local_clock()
                live.on_marker(text, t)
                tracker.on_marker(text, t)
            time.sleep(min(protocol.timing.max_trial_s, 4.0))
            t = pylsl.local_clock()
            live.on_marker("STIM_OFFSET", t)
            tracker.on_marker("STIM_OFFSET", t)
            time.sleep(0.3)
            if n >= len(trials):
                n = 0
    finally:
        live.stop()
        acq.stop()
        tracker.stop()
    a = np.array([x for x in latencies if np.isfinite(x)]) * 1000.0
    if a.size == 0:
        return {"n_predictions": 0, "provider": predictor.provider, "error": "no predictions were made"}
    return {"n_predictions": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "max_ms": round(float(a.max()), 3),
            "provider": predictor.provider, "tracker_rate_hz": args.rate, "seconds": args.seconds}
