"""The compiled channel map (``ChannelMap.apply``) equals its array form (``reference_channel_map.apply_arrays``) on every kind of map
and on hostile values (NaN, infinities, 1e308, EyeLink's missing codes, validity codes, low confidence)."""

from __future__ import annotations

import numpy as np
import pytest

from app.acquisition.channels import SLOTS, ChannelMap, parse_mapping, preset
from tests.unit.acquisition.reference_channel_map import apply_arrays

SCREEN = (1920, 1080)
HOSTILE = np.array([np.nan, np.inf, -np.inf, 0.0, -32768.0, 1e308, -1e308, 0.5, 1.0, 2.0, -0.1, 0.7, 4.0])


def _maps() -> list[ChannelMap]:
    maps = [
        preset("tobii", [], 6, SCREEN),
        preset("pupil", [], 5, SCREEN),
        parse_mapping("left_x=0,left_y=1,right_x=2,right_y=3,left_pupil=4,right_pupil=5", 8, SCREEN),
        parse_mapping("right_x=1,right_y=0,unit=normalized,y_origin=bottom,confidence=2,min_confidence=0.6", 3, SCREEN),
        parse_mapping("left_x=0,left_y=1,right_x=2,right_y=3,left_validity=4,right_validity=5,max_validity=1,"
                      "left_pupil=6,right_pupil=7", 8, SCREEN),
        ChannelMap(8, left_x=0, left_y=1, right_x=2, right_y=3, left_pupil=4, right_pupil=5,
                   missing_values=(0.0, -32768.0), screen_px=(1024, 768)),
    ]
    rng = np.random.default_rng(3)
    for _ in range(40):  # random maps: any subset of slots on distinct channels, every option
        n_ch = int(rng.integers(4, 10))
        chans = rng.permutation(n_ch)
        fields: dict = {s: int(c) for s, c in zip(SLOTS, chans, strict=False) if rng.random() < 0.6}
        if rng.random() < 0.5:
            fields.update(left_x=int(chans[0]), left_y=int(chans[1]))
        else:
            fields.update(right_x=int(chans[2]), right_y=int(chans[3]))
        for eye in ("left", "right"):  # each eye needs both or neither
            if (f"{eye}_x" in fields) != (f"{eye}_y" in fields):
                fields.pop(f"{eye}_x", None)
                fields.pop(f"{eye}_y", None)
        if "left_x" not in fields and "right_x" not in fields:
            fields.update(left_x=int(chans[0]), left_y=int(chans[1]))
        maps.append(ChannelMap(n_ch, **fields, unit=str(rng.choice(["pixels", "normalized"])),
                               y_origin=str(rng.choice(["top", "bottom"])), min_confidence=float(rng.random()),
                               max_validity=float(rng.integers(0, 3)),
                               missing_values=tuple(float(v) for v in rng.choice([0.0, -32768.0, 1.0], 2))))
    return maps


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int16])
def test_compiled_map_equals_the_array_form(dtype: type) -> None:
    rng = np.random.default_rng(7)
    for cmap in _maps():
        for size in (0, 1, 20, 257):
            d = rng.uniform(-0.2, 1.2, (size, cmap.n_channels))
            d[rng.random(d.shape) < 0.3] = rng.choice(HOSTILE, int(np.sum(rng.random(d.shape) < 0.3)) or 1)[0]
            d[rng.random(d.shape) < 0.2] = rng.choice(HOSTILE)
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                with np.errstate(over="ignore"):
                    d = np.clip(np.nan_to_num(d * 1000, nan=0.0), info.min, info.max).astype(dtype)
            else:
                with np.errstate(over="ignore"):
                    d = d.astype(dtype)
            with np.errstate(all="ignore"):  # the array form warns on 1e308 * width
                fast, ref = cmap.apply(d), apply_arrays(cmap, d)
            for name in ("left_x", "left_y", "right_x", "right_y", "x", "y", "pupil"):
                np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=f"{cmap} {name}")


def test_compiled_map_takes_a_non_contiguous_chunk() -> None:
    cmap = preset("tobii", [], 6, SCREEN)
    d = np.random.default_rng(1).random((40, 6))[::2]
    np.testing.assert_array_equal(cmap.apply(d).x, apply_arrays(cmap, d).x)


def _reference_losses(ts: np.ndarray, prev: float | None, rate: float, gap_s: float) -> tuple[int, list[int]]:
    """The acquisition's loss rule in array form (as it was written before the compiled loop)."""
    steps = np.diff(ts, prepend=ts[0] if prev is None else prev)
    big = steps > gap_s
    lost = 0
    if rate > 0:
        small = (steps > 1.5 / rate) & ~big
        lost = int(np.sum(np.rint(steps[small] * rate) - 1))
    return lost, np.flatnonzero(big).tolist()


@pytest.mark.parametrize("eye", ["left", "right", "average"])
def test_ingest_loop_counts_as_the_array_forms(eye: str) -> None:
    from app.acquisition.inlet import _EYE
    from app.acquisition.map_kernel import ingest_chunk
    from app.core.gaze_quality import GazeQualityMonitor

    rng = np.random.default_rng(11)
    monitor = GazeQualityMonitor((1280, 1024), margin=0.3)
    for cmap in _maps():
        if eye != "average" and eye not in cmap.eyes:
            continue
        for size in (1, 3, 40):
            d = rng.uniform(-1.5, 2.5, (size, cmap.n_channels)) * rng.choice([1.0, 1920.0])
            d[rng.random(d.shape) < 0.2] = rng.choice(HOSTILE)
            ts = 100.0 + np.cumsum(rng.choice([0.001, 0.001, 0.0035, 0.4, np.nan, -0.002], size))
            rate = float(rng.choice([0.0, 500.0, 1000.0]))
            prev = None if rng.random() < 0.3 else float(ts[0] - rng.choice([0.001, 0.01, 1.0]))
            with np.errstate(all="ignore"):
                out, lost, gaps, invalid, n_valid, n_far, sx, sy = ingest_chunk(
                    d, ts, np.nan if prev is None else prev, rate, 0.25, *cmap.kernel_args, _EYE[eye],
                    monitor.margin, 1280.0, 1024.0)
                ref = apply_arrays(cmap, d)
            x, y = {"left": (ref.left_x, ref.left_y), "right": (ref.right_x, ref.right_y)}.get(eye, (ref.x, ref.y))
            np.testing.assert_array_equal(out[2 * _EYE[eye]], x)
            np.testing.assert_array_equal(out[2 * _EYE[eye] + 1], y)
            np.testing.assert_array_equal(out[6], ref.pupil)
            assert (lost, gaps.tolist()) == _reference_losses(ts, prev, rate, 0.25)
            assert invalid == int(np.count_nonzero(np.isnan(x) | np.isnan(y)))
            with np.errstate(over="ignore"):
                c = monitor.counts(x, y)
            assert (n_valid, n_far) == (c.n_valid, c.n_far)
            assert sx == pytest.approx(c.far_sum_x, rel=1e-12) and sy == pytest.approx(c.far_sum_y, rel=1e-12)
