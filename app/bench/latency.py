"""``povlab bench latency``: from the sample that ends a fixation to the updated prediction, and the live path's CPU.

The real live path, in process: the simulated tracker publishes gaze on LSL (loopback) while following the demo
protocol's trials; :class:`~app.acquisition.inlet.GazeAcquisition` pulls it into the ring buffer; the session's
:class:`~app.session.live.LivePipeline` wakes on each chunk and runs online fixation detection, AOI mapping and
:class:`~app.inference.predictor.LivePredictor` on its worker thread.

Per prediction, with ``T`` the LSL time stamp of the newest sample of the chunk whose feeding completed the fixation
(the sample that ends it), and ``local_clock()`` read when :class:`PredictionUpdated` is emitted:

- ``arrival``: minus the time the inlet handed that sample to the ring buffer (the target figure);
- ``push``: minus the time the tracker pushed it into its LSL outlet (adds LSL transport and the inlet's wake-up);
- ``stamp``: minus ``T`` itself, the tracker's time stamp: adds the tracker's own delay (the simulated tracker
  pushes ``--tracker-latency-ms`` after the time stamp, in chunks of ``--chunk-ms``), as a lab would see it.

The detector's merge rule does not count: a fixation can only end once a later sample has arrived.

CPU (``--cpu-rate``, default 2000 Hz, for ``--cpu-seconds``): the tracker runs in its own process (``povlab
sim-tracker``, following this process's markers stream), so what this process spends is the live path alone:
the inlet's liblsl threads, the acquisition thread, the pipeline with its predictions, and the outlets.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import PovLabError
from app.core.gaze import GazeBlock
from app.core.gaze_events import GazeEvent
from app.core.paths import BUNDLED_MODEL, DEMO_PROTOCOL
from app.core.ports import OnlineEventDetector


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="ONNX model (default: the bundled one)")
    parser.add_argument("--protocol", default=str(DEMO_PROTOCOL))
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the latency run (s, default 30)")
    parser.add_argument("--rate", type=float, default=1000.0, help="tracker rate of the latency run (Hz)")
    parser.add_argument("--chunk-ms", type=float, default=10.0, help="simulated tracker: time between pushes (ms)")
    parser.add_argument("--tracker-latency-ms", type=float, default=20.0,
                        help="simulated tracker: push this long after the time stamp (ms)")
    parser.add_argument("--cpu-seconds", type=float, default=20.0, help="length of the CPU run (s, 0: none)")
    parser.add_argument("--cpu-rate", type=float, default=2000.0, help="tracker rate of the CPU run (Hz)")
    parser.add_argument("--method", default=None, help="online detector (default: the session's default, nh)")
    parser.add_argument("--warmup-s", type=float, default=3.0,
                        help="gaze before the first trial (s): the default detector holds back its first 2 s")
    parser.add_argument("--cpu", action="store_true", help="do not try CUDA")
    parser.add_argument("--session-seconds", type=float, default=0.0,
                        help="also measure inside a whole headless session for this long (s, 0: not): the real "
                             "recorder writing XDF, outlets, validation and the simulated participant")


class _NullOutlet:
    def push(self, values: Any, timestamp: float | None = None) -> None:
        return None


class _Times:
    """(newest time stamp of a chunk, clock when it happened): the first entry covering a time stamp."""

    def __init__(self) -> None:
        self._items: deque[tuple[float, float]] = deque(maxlen=50000)
        self._lock = threading.Lock()

    def add(self, last_ts: float, when: float) -> None:
        with self._lock:
            self._items.append((last_ts, when))

    def of(self, ts: float, tolerance: float = 1e-4) -> float:
        """When the chunk holding the sample stamped ``ts`` happened (NaN if none was recorded)."""
        found = float("nan")
        with self._lock:
            for last, when in reversed(self._items):  # newest first; time stamps increase
                if last < ts - tolerance:
                    break
                found = when
        return found


class _ArrivalClock:
    """Wraps the ring buffer's ``extend``: notes when each chunk was handed over (before it can be read)."""

    def __init__(self, buffer: Any, clock: Any) -> None:
        self.times, self.clock = _Times(), clock
        self._extend = buffer.extend
        buffer.extend = self.extend

    def extend(self, t: Any, *args: Any, **kwargs: Any) -> None:
        if len(t):
            self.times.add(float(t[-1]), self.clock())
        self._extend(t, *args, **kwargs)


class _StampedDetector:
    """The online detector, noting the time stamp of the newest sample of the chunk being fed."""

    def __init__(self, inner: OnlineEventDetector) -> None:
        self.inner = inner
        self.newest_t = float("nan")

    def feed(self, block: GazeBlock) -> list[GazeEvent]:
        if len(block):
            self.newest_t = float(block.t[-1])
        return list(self.inner.feed(block))


def _ms(values: list[float]) -> dict[str, float | int]:
    a = np.array([v for v in values if np.isfinite(v)]) * 1000.0
    if a.size == 0:
        return {"n": 0}
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "max_ms": round(float(a.max()), 3)}


def _drive_trials(protocol: Any, send: Any, seconds: float) -> None:
    """TRIALID n, STIM_ONSET, the trial's time, STIM_OFFSET, a pause; over the protocol's trials until ``seconds``."""
    import pylsl

    deadline = time.monotonic() + seconds
    n, count = 0, len(protocol.all_trials)
    while time.monotonic() < deadline:
        n = n % count + 1
        for text in (f"TRIALID {n}", "STIM_ONSET"):
            send(text, pylsl.local_clock())
        time.sleep(max(0.0, min(protocol.timing.max_trial_s, 4.0, deadline - time.monotonic())))
        send("STIM_OFFSET", pylsl.local_clock())
        time.sleep(0.3)


def _latency(args: argparse.Namespace, protocol: Any, predictor: Any) -> dict[str, Any]:
    import pylsl

    from app.acquisition.discovery import find_gaze_stream
    from app.acquisition.inlet import GazeAcquisition
    from app.acquisition.sim_tracker import SimulatedTracker
    from app.detection.online import OnlineDetector
    from app.session.live import LivePipeline
    from app.session.updates import PredictionUpdated

    sid = f"povlab-bench-latency-{uuid.uuid4().hex[:8]}"
    pushes = _Times()
    tracker = SimulatedTracker(rate_hz=args.rate, protocol=protocol, source_id=sid, seed=0,
                               chunk_s=args.chunk_ms / 1000.0, latency_s=args.tracker_latency_ms / 1000.0,
                               on_push=lambda ts: pushes.add(ts, pylsl.local_clock())).start()
    acq = GazeAcquisition(find_gaze_stream(source_id=sid, timeout=10.0),
                          screen_px=(protocol.screen.width_px, protocol.screen.height_px))
    arrivals = _ArrivalClock(acq.buffer, pylsl.local_clock)
    detector = _StampedDetector(OnlineDetector(protocol.screen, acq.rate_hz if acq.rate_hz > 0 else args.rate,
                                               method=args.method, drop_disordered=True))
    arrival: list[float] = []
    push: list[float] = []
    stamp: list[float] = []

    def emit(event: object) -> None:
        if isinstance(event, PredictionUpdated):
            now, ts = pylsl.local_clock(), detector.newest_t
            arrival.append(now - arrivals.times.of(ts))
            # pushes carry the tracker's raw stamps, the buffer the clock-corrected ones (a few us apart here)
            push.append(now - pushes.of(ts, 0.5 / args.rate))
            stamp.append(now - ts)

    live = LivePipeline(protocol, acq.buffer, detector, _NullOutlet(), _NullOutlet(), predictor, "P01", emit)
    acq.start()
    live.start()

    def send(text: str, t: float) -> None:
        live.on_marker(text, t)
        tracker.on_marker(text, t)

    try:
        time.sleep(args.warmup_s)  # as the validation before a session's first trial
        _drive_trials(protocol, send, args.seconds)
    finally:
        live.stop()
        acq.stop()
        tracker.stop()
    return {"arrival": _ms(arrival), "push": _ms(push), "stamp": _ms(stamp),
            "lost": acq.counters.lost, "received": acq.counters.received}


def _cpu(args: argparse.Namespace, protocol: Any, predictor: Any) -> dict[str, Any]:
    from app.acquisition.discovery import find_gaze_stream
    from app.acquisition.inlet import GazeAcquisition
    from app.acquisition.outlets import open_outlet
    from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
    from app.detection.online import OnlineDetector
    from app.session.live import LivePipeline
    from app.session.updates import PredictionUpdated

    sid = f"povlab-bench-cpu-{uuid.uuid4().hex[:8]}"
    markers = open_outlet(MARKERS, f"{sid}-markers")
    fix_out, pred_out = open_outlet(FIXATIONS, f"{sid}-fixations"), open_outlet(PREDICTIONS, f"{sid}-predictions")
    cmd = [sys.executable, "-m", "app.cli", "sim-tracker", "--rate", f"{args.cpu_rate:g}", "--duration",
           f"{args.cpu_seconds + 30:g}", "--source-id", sid, "--seed", "1", "--protocol", str(args.protocol),
           "--markers-source-id", f"{sid}-markers", "--chunk-ms", f"{args.chunk_ms:g}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    n_pred = 0

    def emit(event: object) -> None:
        nonlocal n_pred
        n_pred += isinstance(event, PredictionUpdated)

    try:
        acq = GazeAcquisition(find_gaze_stream(source_id=sid, timeout=20.0),
                              screen_px=(protocol.screen.width_px, protocol.screen.height_px))
        detector = OnlineDetector(protocol.screen, acq.rate_hz, method=args.method, drop_disordered=True)
        live = LivePipeline(protocol, acq.buffer, detector, fix_out, pred_out, predictor, "P01", emit)
        acq.start()
        live.start()
        deadline = time.monotonic() + 20.0
        while not markers.have_consumers() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(max(1.0, args.warmup_s))  # the tracker's first clock-offset estimate; the detector's first 2 s
        c0, cpu0, ru0, w0 = acq.counters, live.cpu_s, resource.getrusage(resource.RUSAGE_SELF), time.monotonic()

        def send(text: str, t: float) -> None:
            markers.push(text, t)
            live.on_marker(text, t)

        _drive_trials(protocol, send, args.cpu_seconds)
        c1, cpu1, ru1, wall = acq.counters, live.cpu_s, resource.getrusage(resource.RUSAGE_SELF), \
            time.monotonic() - w0
        live.stop()
        acq.stop()
    finally:
        proc.terminate()
        proc.wait(10)
        for out in (markers, fix_out, pred_out):
            out.close()
    proc_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return {"rate_hz": args.cpu_rate, "seconds": round(wall, 1), "samples": c1.received - c0.received,
            "lost": c1.lost - c0.lost, "predictions": n_pred,
            "process_pct_one_core": round(100.0 * proc_cpu / wall, 2),
            "acquisition_thread_pct": round(100.0 * (c1.cpu_s - c0.cpu_s) / wall, 2),
            "pipeline_thread_pct": round(100.0 * (cpu1 - cpu0) / wall, 2)}


def _in_session(args: argparse.Namespace) -> dict[str, Any]:
    """The same latency inside a whole :class:`~app.session.runner.Session` (``povlab demo --headless`` with the
    real parts: the XDF recorder's thread, the session's outlets, the validation, the simulated participant), the
    acquisition and the detector wrapped through :class:`~app.core.ports.SessionParts` to note the times."""
    import dataclasses

    import pylsl

    from app.acquisition.tracker_spec import LslTrackerConnector, parse_tracker_spec
    from app.presentation.headless import HeadlessPresenter
    from app.session.lsl_parts import lsl_parts
    from app.session.runner import Session, SessionConfig
    from app.session.updates import PredictionUpdated

    real = lsl_parts()
    clocks: list[_ArrivalClock] = []
    detectors: list[_StampedDetector] = []

    def open_acquisition(*a: Any, **kw: Any) -> Any:
        acq = real.open_acquisition(*a, **kw)
        clocks.append(_ArrivalClock(acq.buffer, pylsl.local_clock))
        return acq

    def make_detector(*a: Any, **kw: Any) -> Any:
        detectors.append(_StampedDetector(real.make_detector(*a, **kw)))
        return detectors[-1]

    arrival: list[float] = []
    stamp: list[float] = []

    def listen(event: object) -> None:
        if isinstance(event, PredictionUpdated) and clocks and detectors:
            now, ts = pylsl.local_clock(), detectors[-1].newest_t
            arrival.append(now - clocks[-1].times.of(ts))
            stamp.append(now - ts)

    parts = dataclasses.replace(real, open_acquisition=open_acquisition, make_detector=make_detector)
    with tempfile.TemporaryDirectory() as tmp:
        config = SessionConfig(Path(args.protocol), "BENCH", out=Path(tmp), duration_s=args.session_seconds,
                               model=Path(args.model) if args.model else BUNDLED_MODEL, plots=False,
                               detection=args.method)
        tracker = LslTrackerConnector(parse_tracker_spec("sim"), sim_rate_hz=args.rate, seed=0)
        session = Session(config, HeadlessPresenter(seed=0), listener=listen, tracker=tracker, parts=parts)
        try:
            result = session.run()
        finally:
            session.close()
        meta = result.meta
    return {"arrival": _ms(arrival), "stamp": _ms(stamp), "status": result.status.value,
            "seconds": args.session_seconds, "samples_lost": meta.counters.lost if meta.counters else None}


def run(args: argparse.Namespace) -> dict:
    from app.core.protocol import load_protocol
    from app.detection.online import ONLINE_METHODS
    from app.detection.pipeline import DEFAULT_METHOD
    from app.inference.predictor import LivePredictor

    if not (args.seconds > 0 and args.rate > 0 and args.cpu_seconds >= 0 and args.chunk_ms > 0
            and args.tracker_latency_ms >= 0 and args.warmup_s >= 0 and 0 <= args.session_seconds <= 3600):
        raise PovLabError("bench latency: --seconds, --rate and --chunk-ms must be > 0, --cpu-seconds, --warmup-s "
                          "and --tracker-latency-ms >= 0, --session-seconds 0..3600")
    args.method = args.method or DEFAULT_METHOD
    if args.method not in ONLINE_METHODS:
        raise PovLabError(f"bench latency: --method must be one of {', '.join(ONLINE_METHODS)}, got {args.method!r}")
    protocol = load_protocol(args.protocol)
    with tempfile.TemporaryDirectory() as tmp:
        predictor = LivePredictor.load(args.model, protocol, cache_dir=Path(tmp), prefer_cuda=not args.cpu)
    lat = _latency(args, protocol, predictor)
    a = lat["arrival"]
    if a["n"] == 0:
        return {"n_predictions": 0, "provider": predictor.provider, "error": "no predictions were made"}
    out: dict[str, Any] = {
        "n_predictions": a["n"], "p50_ms": a["p50_ms"], "p99_ms": a["p99_ms"], "max_ms": a["max_ms"],
        "push_to_prediction": lat["push"], "stamp_to_prediction": lat["stamp"],
        "provider": predictor.provider, "detector": args.method, "tracker_rate_hz": args.rate, "seconds": args.seconds,
        "chunk_ms": args.chunk_ms, "tracker_latency_ms": args.tracker_latency_ms, "samples_lost": lat["lost"],
        "load_avg_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count(),
    }
    if args.cpu_seconds > 0:
        out["cpu"] = _cpu(args, protocol, predictor)
    if args.session_seconds > 0:
        out["in_session"] = _in_session(args)
    return out
