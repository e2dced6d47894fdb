"""Gap fill-in: short interior losses are interpolated, offline and streaming alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.detection.gapfill import GapFiller, fill_gaps, max_fill_samples
from app.detection.pipeline import detect

NAN = math.nan


@pytest.mark.parametrize(("x", "max_samples", "expected"), [
    pytest.param([0, NAN, 2, 3], 2, [0, 1, 2, 3], id="one-sample"),
    pytest.param([0, NAN, NAN, 3], 2, [0, 1, 2, 3], id="two-samples"),
    pytest.param([0, NAN, NAN, NAN, 4], 2, [0, NAN, NAN, NAN, 4], id="too-long"),
    pytest.param([NAN, 1, 2], 2, [NAN, 1, 2], id="at-start"),
    pytest.param([0, 1, NAN], 2, [0, 1, NAN], id="at-end"),
    pytest.param([0, NAN, 2], 0, [0, NAN, 2], id="off"),
])
def test_fill_gaps(x: list[float], max_samples: int, expected: list[float]) -> None:
    t = np.arange(len(x), dtype=float)
    fx, fy = fill_gaps(t, np.array(x), np.array(x), max_samples)
    np.testing.assert_array_equal(fx, expected)
    np.testing.assert_array_equal(fy, expected)


def test_fill_respects_time_and_other_axis() -> None:
    t = np.array([0.0, 1.0, 10.0])  # the valid samples around the gap are far apart in time
    fx, _ = fill_gaps(t, np.array([0.0, NAN, 10.0]), np.zeros(3), 2, max_span_s=5.0)
    assert math.isnan(fx[1])
    fx, fy = fill_gaps(np.arange(3.0), np.array([0.0, 7.0, 2.0]), np.array([0.0, NAN, 2.0]), 1)
    assert fx[1] == 1.0 and fy[1] == 1.0  # a sample missing on one axis is missing on both


def test_streaming_fill_equals_offline() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 150))
        t = np.cumsum(rng.uniform(0.5, 1.5, n))
        x, y = rng.normal(size=n), rng.normal(size=n)
        for _ in range(int(rng.integers(0, 8))):
            a, length = int(rng.integers(0, n)), int(rng.integers(1, 7))
            x[a:a + length] = NAN
        m = int(rng.integers(0, 5))
        ox, oy = fill_gaps(t, x, y, m, 4.0)
        filler, parts, i = GapFiller(m, 4.0), [], 0
        while i < n:
            c = int(rng.integers(1, 10))
            parts.append(filler.push(t[i:i + c], x[i:i + c], y[i:i + c]))
            i += c
        parts.append(filler.finish())
        st, sx, sy = (np.concatenate([p[k] for p in parts]) for k in range(3))
        np.testing.assert_array_equal(st, t)
        np.testing.assert_array_equal(sx, ox)
        np.testing.assert_array_equal(sy, oy)


def test_a_dropped_sample_does_not_split_a_fixation() -> None:
    geom = ScreenGeometry()
    t = np.arange(600) / 300.0
    rng = np.random.default_rng(1)
    x, y = 900 + rng.normal(0, 0.5, 600), 500 + rng.normal(0, 0.5, 600)
    x[300] = NAN
    block = GazeBlock.from_arrays(t, x, y)
    assert [e.kind for e in detect(block, geom, method="ivt").events] == ["fixation"]
    split = detect(block, geom, method="ivt", gap_fill_s=0.0)
    assert [e.kind for e in split.events] == ["fixation", "track_loss", "fixation"]
    assert max_fill_samples(300.0, 0.02) == 6 and max_fill_samples(60.0, 0.02) == 1
    with pytest.raises(GazeDataError):
        max_fill_samples(300.0, -1.0)
