"""The adaptive velocity thresholds of the default detector (app/detection/thresholds.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.detection.thresholds import ThresholdParams, ThresholdSchedule

P = ThresholdParams()


def _speeds(scale: float, n: int, seed: int = 0) -> np.ndarray:
    """Speed of white 2-D velocity noise (Rayleigh distributed) with per-axis SD ``scale``."""
    rng = np.random.default_rng(seed)
    return np.hypot(rng.normal(0, scale, n), rng.normal(0, scale, n))


def _served(v: np.ndarray, rate: float = 500.0, chunks: list[int] | None = None,
            params: ThresholdParams = P) -> tuple[np.ndarray, np.ndarray]:
    s = ThresholdSchedule(params)
    t = np.arange(len(v)) / rate
    ok = np.ones(len(v), dtype=bool)
    bounds = np.cumsum([0, *(chunks or [len(v)])])
    parts = [s.push(t[a:b], v[a:b], ok[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=False)]
    parts.append(s.finish())
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def test_factors_are_nh_mean_plus_6_and_3_sd_of_rayleigh_noise() -> None:
    v = _speeds(10.0, 200_000)
    assert P.peak_factor * np.median(v) == pytest.approx(v.mean() + 6 * v.std(), rel=0.01)
    assert P.onset_factor * np.median(v) == pytest.approx(v.mean() + 3 * v.std(), rel=0.01)


def test_thresholds_follow_the_noise_between_floor_and_ceiling() -> None:
    pt_quiet, on_quiet = _served(_speeds(12.0, 5000))
    pt_noisy, _ = _served(_speeds(30.0, 5000))
    assert pt_noisy[-1] / pt_quiet[-1] == pytest.approx(2.5, rel=0.05)
    assert on_quiet[0] < pt_quiet[0]
    assert _served(_speeds(1.0, 5000))[0][0] == P.min_peak_deg_s  # the floor holds on clean data
    assert _served(_speeds(1.0, 5000))[1][0] == P.min_onset_deg_s
    assert _served(_speeds(200.0, 5000))[0][0] == P.max_peak_deg_s  # and the ceiling on very noisy data


def test_many_saccade_samples_do_not_make_the_threshold_run_away() -> None:
    """A fifth of the samples at 40-200 deg/s (small saccades at 300 Hz) moves PT by less than a tenth."""
    rng = np.random.default_rng(1)
    noise = _speeds(12.0, 3000)
    mixed = noise.copy()
    mixed[rng.choice(3000, 600, replace=False)] = rng.uniform(40, 200, 600)
    clean_pt, mixed_pt = _served(noise, 300.0)[0][0], _served(mixed, 300.0)[0][0]
    assert clean_pt < mixed_pt < 1.1 * clean_pt * 1.25
    # NH's own rule, mean + 6 SD of the samples below PT iterated from 100 deg/s, runs away on the same data
    pt = 100.0
    for _ in range(100):
        below = mixed[mixed < pt]
        pt = max(below.mean() + 6 * below.std(), 40.0)
    assert pt > 2 * mixed_pt


def test_schedule_is_causal_after_the_warm_up_and_independent_of_chunking() -> None:
    rate = 250.0
    v = np.concatenate([_speeds(10.0, int(20 * rate)), _speeds(40.0, int(20 * rate), seed=2)])
    pt, on = _served(v, rate)
    again, _ = _served(v, rate, chunks=[1, 7, 300, 3, 2000, 5000, 17, len(v) - 7328])
    np.testing.assert_array_equal(pt, again)
    assert len(pt) == len(v)
    t = np.arange(len(v)) / rate
    assert np.all(pt[t < P.warmup_s] == pt[0])  # the warm-up takes its own estimate
    changed = v.copy()
    changed[t >= 12.0] *= 3  # only the future changes
    pt2, _ = _served(changed, rate)
    np.testing.assert_array_equal(pt2[t < 12.0], pt[t < 12.0])
    assert pt[t >= 30.5].min() > 2 * pt[t < 20].max()  # and the estimate follows the noise within 10 s


def test_the_online_schedule_serves_after_the_warm_up_then_at_once() -> None:
    s = ThresholdSchedule(P)
    rate = 100.0
    v = _speeds(10.0, 500)
    t = np.arange(500) / rate
    ok = np.ones(500, dtype=bool)
    assert len(s.push(t[:150], v[:150], ok[:150])[0]) == 0  # 1.5 s: still warming up
    assert len(s.push(t[150:201], v[150:201], ok[150:201])[0]) == 201  # 2 s reached: everything so far
    assert len(s.push(t[201:203], v[201:203], ok[201:203])[0]) == 2


@pytest.mark.parametrize("kwargs", [
    pytest.param({"peak_sd": 0}, id="zero"),
    pytest.param({"window_s": float("inf")}, id="inf"),
    pytest.param({"onset_sd": 7.0}, id="onset-above-peak"),
    pytest.param({"max_peak_deg_s": 30.0}, id="ceiling-below-floor"),
    pytest.param({"update_s": True}, id="bool"),
])
def test_bad_threshold_parameters(kwargs: dict) -> None:
    with pytest.raises(GazeDataError):
        ThresholdParams(**kwargs)


def test_schedule_over_time_gaps_is_independent_of_chunking() -> None:
    """Seconds without any sample (a tracker that stalls) are empty updates, however the stream is cut."""
    rate = 200.0
    v = _speeds(10.0, 6000, seed=5)
    t = np.arange(6000) / rate
    t[2500:] += 7.3  # 7.3 s without samples
    t[4000:] += 20.0  # and 20 s more: past the whole window
    ok = np.ones(6000, dtype=bool)
    whole = ThresholdSchedule(P)
    a = whole.push(t, v, ok)
    b = whole.finish()
    pieces = ThresholdSchedule(P)
    got = [pieces.push(t[i:i + n], v[i:i + n], ok[i:i + n]) for i, n in ((0, 100), (100, 2399), (2499, 2), (2501, 1500),
                                                                       (4001, 1999))]
    got.append(pieces.finish())
    np.testing.assert_array_equal(np.concatenate([a[0], b[0]]), np.concatenate([g[0] for g in got]))
    np.testing.assert_array_equal(np.concatenate([a[1], b[1]]), np.concatenate([g[1] for g in got]))
    after = np.concatenate([a[0], b[0]])[4000:4100]
    assert np.all(after == P.initial_peak_deg_s)  # nothing in the 10 s before: the starting value


def _by_definition(t: np.ndarray, v: np.ndarray, p: ThresholdParams = P) -> tuple[np.ndarray, np.ndarray]:
    """The schedule's thresholds computed straight from its definition (module docstring), per sample."""
    from app.detection.thresholds import _cum_thresholds

    units = np.floor((t - t[0]) / p.update_s).astype(np.int64)
    bins = np.where(v >= p.bins * p.bin_deg_s, p.bins, np.minimum((v / p.bin_deg_s).astype(np.int64), p.bins - 1))
    w, warm = p.window_updates, p.warmup_updates
    last = int(units.max())

    def of(u: int) -> tuple[float, float]:
        if u < warm and last >= warm:  # the warm-up takes the thresholds of the first update after it
            u = warm
        sel = (units >= max(u - w, 0)) & (units < u) if last >= warm else units <= last
        hist = np.bincount(bins[sel], minlength=p.bins + 1)[None, :]
        pt, on = _cum_thresholds(p, np.cumsum(hist, axis=1))
        return float(pt[0]), float(on[0])

    table = {u: of(u) for u in np.unique(units).tolist()}
    return np.array([table[u][0] for u in units.tolist()]), np.array([table[u][1] for u in units.tolist()])


@pytest.mark.parametrize("gap_s", [0.0, 1.5, 5.0, 25.0, 3600.0, 1e12], ids=lambda g: f"gap{g:g}")
def test_a_silence_of_any_length_gives_the_thresholds_of_the_definition(gap_s: float) -> None:
    """A tracker gap or a damaged stamp 1e12 s on: the same thresholds as the definition, in any chunking,
    and no histogram rows for the silence (1e12 s of them was a MemoryError)."""
    rate = 200.0
    t1 = np.arange(int(14.3 * rate)) / rate
    t = np.concatenate([t1, t1[-1] + gap_s + 1 / rate + np.arange(int(12.7 * rate)) / rate])
    v = np.concatenate([_speeds(8.0, len(t1), 1), _speeds(25.0, len(t) - len(t1), 2)])
    want = _by_definition(t, v)
    for chunks in ([len(t)], [7] * (len(t) // 7) + [len(t) % 7], [len(t1) - 3, 5, len(t) - len(t1) - 2]):
        s = ThresholdSchedule(P)
        ok = np.ones(len(t), dtype=bool)
        bounds = np.cumsum([0, *chunks])
        parts = [s.push(t[a:b], v[a:b], ok[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        parts.append(s.finish())
        got = np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert len(s.hist) <= max(P.window_updates, P.warmup_updates) + 1
