from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.detection.velocity import (
    adaptive_half_window,
    half_window,
    noise_sd_deg,
    nominal_rate,
    prepare,
    smoothed_velocity,
)

GEOM = ScreenGeometry()


def _ramp(t: np.ndarray, speed_deg_s: float) -> tuple[np.ndarray, np.ndarray]:
    return speed_deg_s * (t - t[0]), np.zeros_like(t)


@pytest.mark.parametrize("k", [pytest.param(1, id="3-point"), pytest.param(5, id="11-point")])
def test_constant_speed_is_recovered_exactly(k: int) -> None:
    t = 1000.0 + np.arange(200) / 500.0  # LSL-like clock values
    xd, yd = _ramp(t, 40.0)
    v = smoothed_velocity(t, xd, yd, k, 500.0)
    assert np.all(np.isnan(v[:k])) and np.all(np.isnan(v[-k:]))
    np.testing.assert_allclose(v[k:-k], 40.0, rtol=1e-6)


def test_uneven_sampling_uses_the_samples_own_times() -> None:
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.002, 0.006, 400))
    xd, yd = 3.0 * t, 4.0 * t  # 5 deg/s
    v = smoothed_velocity(t, xd, yd, 2, 250.0)
    np.testing.assert_allclose(v[2:-2], 5.0, rtol=1e-6)


def test_nan_and_time_gaps_give_no_velocity() -> None:
    t = np.arange(100) / 1000.0
    t[60:] += 0.5  # 500 ms without samples (and without NaN rows)
    xd, yd = np.zeros(100), np.zeros(100)
    xd[20] = np.nan
    v = smoothed_velocity(t, xd, yd, 3, 1000.0)
    assert np.all(np.isnan(v[17:24])) and np.isfinite(v[16]) and np.isfinite(v[24])
    assert np.all(np.isnan(v[57:63])) and np.isfinite(v[56]) and np.isfinite(v[63])


def test_smoothing_reduces_noise() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(2000) / 1000.0
    xd = rng.normal(0, 0.02, 2000)
    yd = rng.normal(0, 0.02, 2000)
    raw = smoothed_velocity(t, xd, yd, 1, 1000.0)
    smooth = smoothed_velocity(t, xd, yd, 5, 1000.0)
    assert np.nanmedian(smooth) < np.nanmedian(raw) / 4


@pytest.mark.parametrize(("t", "message"), [
    pytest.param([0.0, 0.001, 0.001, 0.003], "repeated", id="repeated"),
    pytest.param([0.0, 0.002, 0.001, 0.003], "unsorted", id="unsorted"),
    pytest.param([0.0, np.nan, 0.002, 0.003], "nan, not a finite number", id="nan-time"),
])
def test_bad_timestamps_are_rejected(t: list[float], message: str) -> None:
    block = GazeBlock.from_arrays(t, np.zeros(4), np.zeros(4))
    with pytest.raises(GazeDataError, match=message):
        prepare(block, GEOM)


def test_rate_and_window() -> None:
    assert nominal_rate(np.arange(10) / 250.0) == pytest.approx(250.0)
    assert half_window(1000.0, 0.01) == 5
    assert half_window(60.0, 0.01) == 1
    with pytest.raises(GazeDataError):
        nominal_rate(np.array([1.0]))


def test_window_widens_with_noise() -> None:
    rng = np.random.default_rng(2)
    noisy = rng.normal(0, 0.3, (2, 5000))
    assert noise_sd_deg(noisy[0], noisy[1]) == pytest.approx(0.3, rel=0.1)
    assert adaptive_half_window(250.0, 0.01) == half_window(250.0, 0.01)  # clean: the short default
    k = adaptive_half_window(250.0, 0.3)
    assert k > half_window(250.0, 0.01) and k <= half_window(250.0, 0.04)
    t = np.arange(5000) / 250.0
    block = GazeBlock.from_arrays(t, 960 + noisy[0] * GEOM.px_per_deg, 540 + noisy[1] * GEOM.px_per_deg)
    assert prepare(block, GEOM, window_s=None).k == k


def _direct_slope(t: np.ndarray, xd: np.ndarray, yd: np.ndarray, ks: np.ndarray, max_gap: float) -> np.ndarray:
    """The least-squares slope of each sample's own window, summed afresh (the reference for the sliding sums)."""
    v = np.full(len(t), np.nan)
    for i, k in enumerate(ks.tolist()):
        if k < 1 or i - k < 0 or i + k >= len(t) or np.any(np.diff(t[i - k:i + k + 1]) > max_gap):
            continue
        tt = t[i - k:i + k + 1] - t[i]
        a = np.polyfit(tt, xd[i - k:i + k + 1], 1)[0] if np.all(np.isfinite(xd[i - k:i + k + 1])) else np.nan
        b = np.polyfit(tt, yd[i - k:i + k + 1], 1)[0] if np.all(np.isfinite(yd[i - k:i + k + 1])) else np.nan
        v[i] = np.hypot(a, b)
    return v


def test_sliding_window_sums_equal_the_direct_slope_and_ignore_how_the_samples_are_split() -> None:
    """smoothed_speed slides its window sums; every value equals the slope of the sample's own window (to
    rounding), with NaN exactly where the window holds a NaN or a gap, and any split into calls (as the online
    detector makes, with the history it keeps) gives the same bits."""
    from app.detection.speed import RESTART, smoothed_speed

    rng = np.random.default_rng(3)
    n = 3000
    t = 5000.0 + np.cumsum(rng.uniform(0.0008, 0.0012, n))  # LSL-like clock, uneven
    t[1500:] += 0.1  # a gap without NaN rows
    xd = np.cumsum(rng.normal(0, 0.05, n))
    yd = np.cumsum(rng.normal(0, 0.05, n))
    xd[[100, 101, 2500]] = np.nan
    ks = np.repeat(rng.integers(1, 12, 30), 100).astype(np.int64)  # the window changes every 100 samples
    whole = smoothed_speed(t, xd, yd, ks, 0, n, 0.02, 0)
    ref = _direct_slope(t, xd, yd, ks, 0.02)
    assert np.array_equal(np.isnan(whole), np.isnan(ref)) and np.isfinite(whole).sum() > 2500
    np.testing.assert_allclose(whole, ref, rtol=1e-8, atol=1e-9)
    g0 = -37  # the arrays start 37 samples before the stream (as the online buffer's history does)
    pad = np.full(37, np.nan)
    tp, xp, yp = np.concatenate((pad, t)), np.concatenate((pad, xd)), np.concatenate((pad, yd))
    kp = np.concatenate((np.zeros(37, np.int64), ks))
    i, parts = 0, []
    while i < n:
        c = int(rng.integers(1, 3 * RESTART))
        lo = max(i + 37 - 11 - RESTART, 0)  # only the history the online detector keeps (k_max + RESTART)
        hi_ = min(i + c + 11, n) + 37
        parts.append(smoothed_speed(tp[lo:hi_], xp[lo:hi_], yp[lo:hi_], kp[lo:hi_], i + 37 - lo,
                                    min(i + c, n) + 37 - lo, 0.02, g0 + lo))
        i += c
    chunked = np.concatenate(parts)
    # samples whose window reaches past a piece's end are NaN in that piece (offline they are not):
    # compare where the piece had the whole window, which is everywhere but the last k of each piece
    assert np.array_equal(chunked[np.isfinite(chunked)], whole[np.isfinite(chunked)])
    assert np.isfinite(chunked).sum() > 0.9 * np.isfinite(whole).sum()


@pytest.mark.parametrize("factor", [1.0, 1.2499, 1.2501, 0.8001, 0.7999])
def test_the_one_pass_rate_check_decides_as_the_median_does(factor: float) -> None:
    """The compiled pass accepts a given rate only where the median interval surely agrees; elsewhere the
    exact check (median of the intervals) decides, so the outcome is always the exact check's."""
    from app.detection.velocity import RATE_TOLERANCE, check_rate, ingest_checked

    rng = np.random.default_rng(4)
    t = np.cumsum(rng.choice([0.0009, 0.001, 0.0011], 2001))
    try:
        exact: float | None = check_rate(1000.0 * factor, t)
    except GazeDataError:
        exact = None
    x = np.full(len(t), 500.0)
    if exact is None:
        with pytest.raises(GazeDataError, match="does not match"):
            ingest_checked(t, x, x, 1000.0 * factor, 0.02)
    else:
        assert ingest_checked(t, x, x, 1000.0 * factor, 0.02)[0] == exact
    assert RATE_TOLERANCE == 1.25


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 665, 666])
def test_the_noise_median_is_numpys(n: int) -> None:
    """The compiled selection that the window's noise uses gives np.median's value, with ties and sorted input."""
    from app.detection.speed import median_inplace

    rng = np.random.default_rng(n)
    for a in (rng.normal(size=n), rng.integers(0, 4, n).astype(float), np.sort(rng.normal(size=n))):
        assert median_inplace(a.copy(), n) == np.median(a)
