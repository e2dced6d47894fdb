"""``povlab bench gui``: the live view under 2000 Hz gaze.

A feeder thread writes synthetic gaze (a reading-then-viewing scanpath of the demo protocol's
first trial, :mod:`app.core.synthetic_gaze`) into a :class:`GazeRingBuffer` at the tracker's
rate in 5 ms chunks, as the LSL acquisition does, with time stamps on ``time.perf_counter``; a
second thread emits a FixationMapped and a PredictionUpdated event at each fixation's end. The
window's frame timer then does exactly what it does in a session: drain events, poll the buffer
once, and repaint (synchronously here, so the paint is inside the timed frame).

Figures (after 5 warm-up frames): frame time p50/p99/max (drain + poll + repaint of the whole run
page); display lag = age of the newest sample the frame drew from when the frame is on screen
(``perf_counter`` at the end of the repaint minus that sample's time stamp; includes the 5 ms
feed chunks), p50/p99; ``newest_minus_drawn`` = samples that arrived during the frame (ms).
During a blink the gaze point stays on the last valid sample.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

import numpy as np

WARMUP_FRAMES = 5  # the first frames scale the stimulus image and lay out the page once

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=2000.0, help="gaze rate in Hz (default 2000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--frame-ms", type=int, default=33, help="frame timer interval (default 33 ms)")


class _Counters:
    def __init__(self) -> None:
        self.received = 0
        self.lost = 0
        self.stalled = False


class _Source:
    def __init__(self, buffer: Any, rate_hz: float) -> None:
        self.buffer, self.rate_hz, self.counters = buffer, rate_hz, _Counters()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.errors import PovLabError

    if not (60 <= args.rate <= 10000) or not (1 <= args.seconds <= 600) or not (5 <= args.frame_ms <= 1000):
        raise PovLabError("bench gui: --rate 60..10000 Hz, --seconds 1..600, --frame-ms 5..1000")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.gaze import GazeRingBuffer
    from app.core.gaze_events import GazeEvent
    from app.core.layout import layout_trial
    from app.core.paths import DEMO_PROTOCOL
    from app.core.protocol import load_protocol
    from app.core.synthetic_gaze import plan_scanpath, synthesize_gaze
    from app.gui.images import ImageStore
    from app.gui.live_model import LiveModel
    from app.gui.pages.run_page import RunPage
    from app.gui.polling import EventQueue, GazePoller
    from app.session.updates import FixationMapped, PredictionUpdated, SessionStarted, TrialStarted

    app = QApplication.instance() or QApplication(["povlab-bench-gui"])  # noqa: F841 - keeps the app alive
    protocol = load_protocol(DEMO_PROTOCOL)
    trial = protocol.all_trials[0]
    layout = layout_trial(protocol, trial)
    rng = np.random.default_rng(1)
    targets = plan_scanpath(layout, rng) * 4
    gaze = synthesize_gaze(targets, args.rate, protocol.screen, rng=rng)
    n_total = len(gaze.block)
    fixations = [(on, off) for code, on, off in gaze.events if code == 1]

    model = LiveModel(protocol.screen)
    images = ImageStore()
    images.preload([trial.image])
    page = RunPage(model, images)
    page.resize(1440, 860)
    page.show()
    events = EventQueue()
    buffer = GazeRingBuffer(120.0, args.rate)
    source = _Source(buffer, args.rate)
    model.apply(SessionStarted(protocol.path.parent, protocol.path.with_suffix(".xdf"), len(protocol.all_trials),
                               "bench", None))
    model.apply(TrialStarted(1, trial.trial_id, trial.practice, layout, trial.image))
    model.nominal_rate_hz = args.rate
    poller = GazePoller(source, model)
    stop = threading.Event()
    t_start = time.perf_counter() + 0.1

    def feed() -> None:
        written = 0
        b = gaze.block
        while not stop.wait(0.005):
            now = time.perf_counter() - t_start
            upto = min(int(np.searchsorted(b.t, now, side="right")), n_total)
            if upto <= written:
                if written >= n_total:
                    break
                continue
            sl = slice(written, upto)
            buffer.extend(b.t[sl] + t_start, b.x[sl], b.y[sl], b.pupil[sl])
            source.counters.received += upto - written
            written = upto

    def emit() -> None:
        probs = np.array([1 / 3, 1 / 3, 1 / 3])
        for k, (on, off) in enumerate(fixations, start=1):
            if stop.wait(max(0.0, off - (time.perf_counter() - t_start))):
                return
            i0, i1 = np.searchsorted(gaze.block.t, [on, off])
            x = float(np.nanmean(gaze.block.x[i0:i1])) if i1 > i0 else 0.0
            y = float(np.nanmean(gaze.block.y[i0:i1])) if i1 > i0 else 0.0
            ev = GazeEvent("fixation", on + t_start, off + t_start, off - on, x, y, float("nan"), float("nan"))
            events(FixationMapped(1, ev, -1))
            probs = np.clip(probs + rng.normal(0, 0.05, 3), 0.02, None)
            probs /= probs.sum()
            events(PredictionUpdated(1, trial.trial_id, (float(probs[0]), float(probs[1]), float(probs[2])), k))

    frame_s: list[float] = []
    warmup: list[int] = []
    paint_s: list[float] = []
    lag_s: list[float] = []
    behind_s: list[float] = []

    def frame() -> None:
        t0 = time.perf_counter()
        events.drain(model)
        poller.poll()
        page.repaint()
        t1 = time.perf_counter()
        frame_s.append(t1 - t0)
        paint_s.append(page.view.last_paint_s)
        warm = len(warmup) >= WARMUP_FRAMES
        if warm and poller.newest_t is not None:
            lag_s.append(t1 - poller.newest_t)
            newest, _ = buffer.since(buffer.total_written - 1)
            if len(newest):
                behind_s.append(float(newest.t[-1]) - poller.newest_t)
        if not warm:
            frame_s.pop()
            paint_s.pop()
            warmup.append(1)
        if t1 - t_start >= args.seconds:
            loop.quit()

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=emit, daemon=True)]
    for th in threads:
        th.start()
    timer = QTimer()
    timer.setInterval(args.frame_ms)
    timer.timeout.connect(frame)
    loop = QEventLoop()  # a local loop: quitting it leaves the application usable (tests share it)
    timer.start()
    loop.exec()
    timer.stop()
    stop.set()
    for th in threads:
        th.join(2.0)
    page.close()
    if not frame_s or not lag_s:
        raise PovLabError("bench gui: no frame was drawn")
    ms = lambda a, q: round(float(np.percentile(np.asarray(a) * 1000, q)), 2)  # noqa: E731
    return {
        "rate_hz": args.rate, "seconds": args.seconds, "frame_interval_ms": args.frame_ms, "frames": len(frame_s),
        "samples_fed": int(buffer.total_written), "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "frame_ms_p50": ms(frame_s, 50), "frame_ms_p99": ms(frame_s, 99), "frame_ms_max": ms(frame_s, 100),
        "paint_ms_p50": ms(paint_s, 50), "paint_ms_p99": ms(paint_s, 99),
        "lag_ms_p50": ms(lag_s, 50), "lag_ms_p99": ms(lag_s, 99),
        "newest_minus_drawn_ms_p99": ms(behind_s, 99) if behind_s else None,
        "measured_rate_hz": None if model.rate_hz is None else round(model.rate_hz, 1),
        "goal_frame_ms_p99": 50.0, "meets_goal": ms(frame_s, 99) < 50.0,
    }
