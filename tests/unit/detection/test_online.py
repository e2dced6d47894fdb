"""The streaming detectors give the same events as the offline ones on the same data."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.synthetic_gaze import SimParams, Target, synthesize_gaze
from app.detection.online import ColumnFifo, OnlineDetector
from app.detection.pipeline import VELOCITY_WINDOW_S, detect

GEOM = ScreenGeometry()


def _gaze(rate: float, seed: int, jitter: bool = False) -> GazeBlock:
    rng = np.random.default_rng(seed)
    targets = [Target(float(rng.uniform(200, 1700)), float(rng.uniform(150, 900)), float(rng.uniform(0.1, 0.4)))
               for _ in range(30)]
    params = SimParams(blink_rate_per_min=30.0, track_loss_prob=0.2)
    b = synthesize_gaze(targets, rate, GEOM, params, np.random.default_rng(seed + 1)).block
    if jitter:  # uneven rate: drop a fifth of the samples
        keep = np.sort(rng.choice(len(b), int(0.8 * len(b)), replace=False))
        b = GazeBlock(b.t[keep], b.x[keep], b.y[keep], b.pupil[keep])
    return b


def _stream(det: OnlineDetector, b: GazeBlock, seed: int) -> list:
    rng = np.random.default_rng(seed)
    events, i = [], 0
    while i < len(b):
        c = int(rng.integers(1, 40))
        events += det.feed(GazeBlock(b.t[i:i + c], b.x[i:i + c], b.y[i:i + c], b.pupil[i:i + c]))
        i += c
    return events + det.flush()


@pytest.mark.parametrize(("method", "rate", "jitter"), [
    pytest.param("ivt", 1000.0, False, id="ivt-1000Hz"),
    pytest.param("ivt", 250.0, True, id="ivt-uneven"),
    pytest.param("idt", 1000.0, False, id="idt-1000Hz"),
    pytest.param("idt", 120.0, True, id="idt-uneven"),
    pytest.param("nh", 1000.0, False, id="nh-1000Hz"),
    pytest.param("nh", 300.0, True, id="nh-uneven"),
    pytest.param("nh", 60.0, False, id="nh-60Hz"),
])
def test_online_equals_offline(method: str, rate: float, jitter: bool) -> None:
    b = _gaze(rate, seed=int(rate), jitter=jitter)
    offline = detect(b, GEOM, method=method, rate_hz=rate)  # both with the window chosen from the noise
    online = _stream(OnlineDetector(GEOM, rate, method=method), b, seed=7)
    assert len(offline.events) > 20
    assert [(e.kind, e.start_index, e.stop_index) for e in online] == \
        [(e.kind, e.start_index, e.stop_index) for e in offline.events]
    # every field to the last bit (NaN where both are NaN): the same sums in the same order, whatever the chunks
    np.testing.assert_array_equal([astuple(e)[1:] for e in online], [astuple(e)[1:] for e in offline.events])


def test_online_equals_offline_on_expert_data(shared_data) -> None:
    from app.detection.evaluation import load_irf

    rec = load_irf(shared_data / "irf_lookatpoint")[1]
    b = rec.block.between(rec.block.t[0], rec.block.t[0] + 20.0)
    for method in ("ivt", "idt", "nh"):
        offline = detect(b, rec.geometry, method=method, rate_hz=1000.0)
        online = _stream(OnlineDetector(rec.geometry, 1000.0, method=method), b, seed=3)
        assert [(e.kind, e.start_index, e.stop_index) for e in online] == \
            [(e.kind, e.start_index, e.stop_index) for e in offline.events]


def _lags(det: OnlineDetector, b: GazeBlock) -> list[tuple[float, float]]:
    """(offset, how long after it the fixation was reported) for every fixation, fed 5 samples at a time."""
    lags = []
    for i in range(0, len(b), 5):
        chunk = GazeBlock(b.t[i:i + 5], b.x[i:i + 5], b.y[i:i + 5], b.pupil[i:i + 5])
        lags += [(e.offset, chunk.t[-1] - e.offset) for e in det.feed(chunk) if e.kind == "fixation"]
    return lags


def test_fixations_are_reported_soon_after_they_end() -> None:
    b = _gaze(500.0, seed=5)
    lags = [lag for _, lag in _lags(OnlineDetector(GEOM, 500.0, method="ivt", velocity_window_s=VELOCITY_WINDOW_S), b)]
    # the merge window (75 ms) bounds the wait; plus the differentiator's 5 samples and one chunk
    assert lags and max(lags) < 0.075 + 0.01 + 0.01 + 0.005


def test_default_detector_reports_fixations_soon_after_the_warm_up() -> None:
    """The default detector holds back its first 2 s (noise and thresholds), then labels as the samples come:
    a fixation is reported within the merge window plus the saccade and PSO window that follow it."""
    b = _gaze(500.0, seed=5)
    lags = _lags(OnlineDetector(GEOM, 500.0), b)
    assert min(off for off, _ in lags) < b.t[0] + 2.0  # fixations of the warm-up come out once it is over
    late = [lag for off, lag in lags if off > b.t[0] + 2.5]
    assert len(late) > 10 and max(late) < 0.075 + 0.1 + 0.04 + 0.01


def test_bad_chunks_are_rejected() -> None:
    det = OnlineDetector(GEOM, 500.0)
    det.feed(GazeBlock.from_arrays([1.0, 1.002], [1, 1], [1, 1]))
    with pytest.raises(GazeDataError, match="increase"):
        det.feed(GazeBlock.from_arrays([1.001, 1.004], [1, 1], [1, 1]))
    det.flush()
    with pytest.raises(GazeDataError, match="after flush"):
        det.feed(GazeBlock.from_arrays([2.0], [1], [1]))
    with pytest.raises(GazeDataError, match="method"):
        OnlineDetector(GEOM, 500.0, method="nh2")
    for rate in (0.0, -5.0, float("inf"), float("nan"), True):
        with pytest.raises(GazeDataError, match="rate"):
            OnlineDetector(GEOM, rate)


def test_column_fifo_keeps_order_across_growth() -> None:
    f = ColumnFifo(2, capacity=4)
    seen = []
    for k in range(50):
        f.append([np.arange(k, k + 3, dtype=float), -np.arange(k, k + 3, dtype=float)])
        seen.append(f.view()[0, 0])
        f.drop(3)
    assert len(f) == 0 and seen == list(range(50))


def test_disordered_samples_can_be_dropped_instead() -> None:
    b = _gaze(500.0, seed=9)
    det = OnlineDetector(GEOM, 500.0, drop_disordered=True)
    events = []
    for i in range(0, len(b), 20):
        t = b.t[i:i + 20].copy()
        if i % 100 == 0 and len(t) > 3:
            t[2] = t[1]  # a repeated time stamp
            t[3] = np.nan
        events += det.feed(GazeBlock(t, b.x[i:i + 20], b.y[i:i + 20], b.pupil[i:i + 20]))
    events += det.flush()
    assert det.dropped == 2 * len(range(0, len(b), 100))
    assert sum(e.kind == "fixation" for e in events) > 20


def test_garbage_coordinates_in_a_live_stream_are_missing_data() -> None:
    """Offline, 1e308 is refused (one error line); live, such samples count as lost and the session goes on."""
    b = _gaze(500.0, seed=4)
    x, y = b.x.copy(), b.y.copy()
    x[1000:1010] = 1e308
    y[1500] = -np.inf
    bad = GazeBlock(b.t, x, y, b.pupil)
    with pytest.raises(GazeDataError, match="x of sample 1000 is 1e\\+308 px"):
        detect(bad, GEOM)
    lost_x, lost_y = x.copy(), y.copy()
    lost_x[1000:1010] = lost_y[1000:1010] = np.nan
    lost_x[1500] = lost_y[1500] = np.nan
    expected = detect(GazeBlock(b.t, lost_x, lost_y, b.pupil), GEOM).events
    with np.errstate(all="raise"):  # no overflow anywhere on the way
        online = _stream(OnlineDetector(GEOM, 500.0), bad, seed=2)
    assert [(e.kind, e.start_index, e.stop_index) for e in online] == \
        [(e.kind, e.start_index, e.stop_index) for e in expected]


def test_window_widens_when_the_noise_rises_midway_online_as_offline() -> None:
    """Noise that starts after the warm-up widens the differentiator within seconds, live and offline alike."""
    b = _gaze(250.0, seed=21)
    rng = np.random.default_rng(3)
    x, y = b.x.copy(), b.y.copy()
    noisy = b.t >= b.t[0] + 0.5 * (b.t[-1] - b.t[0])
    scale = 0.3 * GEOM.px_per_deg
    x[noisy] += rng.normal(0, scale, int(noisy.sum()))
    y[noisy] += rng.normal(0, scale, int(noisy.sum()))
    block = GazeBlock(b.t, x, y, b.pupil)
    from app.detection.velocity import prepare

    g = prepare(block, GEOM, 250.0, None, 0.02)
    assert g.k_max > g.k  # wider where it is noisy
    offline = detect(block, GEOM, rate_hz=250.0)
    online = _stream(OnlineDetector(GEOM, 250.0), block, seed=5)
    assert [(e.kind, e.start_index, e.stop_index, e.onset) for e in online] == \
        [(e.kind, e.start_index, e.stop_index, e.onset) for e in offline.events]
