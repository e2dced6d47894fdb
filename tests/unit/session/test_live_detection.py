"""A session's live fixations are the default detector's offline fixations on the same samples."""

from __future__ import annotations

import numpy as np

from app.core.gaze import GazeBlock, GazeRingBuffer
from app.core.protocol import load_protocol
from app.core.synthetic_gaze import SimParams, Target, synthesize_gaze
from app.detection.online import OnlineDetector
from app.detection.pipeline import DEFAULT_METHOD, detect
from app.session.live import LivePipeline
from app.session.runner import SessionConfig
from app.session.updates import FixationMapped


class _Outlet:
    def __init__(self) -> None:
        self.rows: list[list[float]] = []

    def push(self, row: list[float]) -> None:
        self.rows.append(row)


def test_live_fixations_equal_offline_ones(demo_protocol_path) -> None:
    protocol = load_protocol(demo_protocol_path)
    rate = 500.0
    rng = np.random.default_rng(11)
    targets = [Target(float(rng.uniform(200, 1700)), float(rng.uniform(150, 900)), float(rng.uniform(0.15, 0.5)))
               for _ in range(60)]
    gaze = synthesize_gaze(targets, rate, protocol.screen, SimParams(blink_rate_per_min=20.0),
                           np.random.default_rng(12)).block
    buffer = GazeRingBuffer(30.0, rate)
    assert SessionConfig(demo_protocol_path, "P01").detection == DEFAULT_METHOD  # what a session runs
    detector = OnlineDetector(protocol.screen, rate, method=SessionConfig(demo_protocol_path, "P01").detection,
                              drop_disordered=True)  # as app.session.runner builds it
    seen: list[FixationMapped] = []
    outlet = _Outlet()
    live = LivePipeline(protocol, buffer, detector, outlet, _Outlet(), None, "P01",
                        lambda e: seen.append(e) if isinstance(e, FixationMapped) else None)
    i = 0
    while i < len(gaze):
        n = int(rng.integers(1, 25))  # LSL pulls of uneven size
        buffer.extend(gaze.t[i:i + n], gaze.x[i:i + n], gaze.y[i:i + n])
        live.step()
        i += n
    offline = [e for e in detect(GazeBlock(gaze.t, gaze.x, gaze.y, gaze.pupil), protocol.screen, rate_hz=rate).events
               if e.kind == "fixation"]
    live_fix = [m.fixation for m in seen]
    # the live path has not seen the stream end: the last fixations are still open
    assert len(live_fix) > 40 and len(offline) - len(live_fix) <= 2
    assert [(e.onset, e.offset, e.start_index, e.stop_index) for e in live_fix] == \
        [(e.onset, e.offset, e.start_index, e.stop_index) for e in offline[:len(live_fix)]]
    np.testing.assert_allclose([[e.x, e.y] for e in live_fix], [[e.x, e.y] for e in offline[:len(live_fix)]],
                               rtol=1e-12)
    assert [r[0] for r in outlet.rows] == [e.onset for e in live_fix]  # and the fixations stream carries them
