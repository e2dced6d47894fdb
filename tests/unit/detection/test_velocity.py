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
    pytest.param([0.0, np.nan, 0.002, 0.003], "not a number", id="nan-time"),
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
