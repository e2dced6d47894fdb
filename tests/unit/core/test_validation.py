from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.synthetic_gaze import SimParams, Target, synthesize_gaze
from app.core.validation import (
    FAIR,
    GOOD,
    POOR,
    TargetShown,
    compute_validation,
    judge,
    latest_validation,
    target_positions,
    validation_runs,
    validation_target_marker,
)

SCREEN = ScreenGeometry(1920, 1080, 53.1, 29.9, 60.0)
RATE = 250.0
DWELL_S = 1.5


def _session(offset_deg: tuple[float, float], n_targets: int = 9, precision: float = 0.05,
             seed: int = 3) -> tuple[list[TargetShown], GazeBlock]:
    """Synthetic gaze that looks at each target (with a constant error) while it is shown."""
    pos = target_positions(SCREEN, n_targets)
    params = SimParams(precision_rms_s2s_deg=precision, accuracy_offset_deg=offset_deg, drift_deg_per_s=0.0,
                       blink_rate_per_min=0.0, track_loss_prob=0.0, landing_error_fraction=0.0)
    sim = synthesize_gaze([Target(x, y, DWELL_S) for x, y in pos], RATE, SCREEN, params,
                          np.random.default_rng(seed), t0=100.0)
    # target k is on screen from the start of its dwell's saccade to the next one
    starts = [100.0] + [float(sim.block.t[np.argmax(sim.target_index == i)]) for i in range(1, len(pos))]
    ends = starts[1:] + [float(sim.block.t[-1]) + 0.01]
    shown = [TargetShown(k + 1, x, y, a, b) for k, ((x, y), a, b) in enumerate(zip(pos, starts, ends, strict=True))]
    return shown, sim.block


@pytest.mark.parametrize("count", [pytest.param(5, id="five"), pytest.param(9, id="nine")])
def test_target_positions_centre_first_and_on_screen(count: int) -> None:
    pos = target_positions(SCREEN, count)
    assert len(pos) == count and len(set(pos)) == count
    assert pos[0] == (960.0, 540.0)
    assert all(0 < x < SCREEN.width_px and 0 < y < SCREEN.height_px for x, y in pos)
    assert min(x for x, _ in pos) == pytest.approx(192.0) and max(y for _, y in pos) == pytest.approx(972.0)


def test_target_positions_rejects_other_counts() -> None:
    with pytest.raises(GazeDataError, match="5 or 9"):
        target_positions(SCREEN, 7)


@pytest.mark.parametrize("mean,maximum,expected", [
    pytest.param(0.3, 0.8, GOOD, id="good"),
    pytest.param(0.49, 0.99, GOOD, id="good-edge"),
    pytest.param(0.5, 0.9, FAIR, id="mean-at-0.5-is-fair"),
    pytest.param(0.3, 1.2, FAIR, id="max-over-1-fair"),
    pytest.param(0.9, 1.49, FAIR, id="fair-edge"),
    pytest.param(1.0, 1.2, POOR, id="mean-at-1-poor"),
    pytest.param(0.4, 1.5, POOR, id="max-at-1.5-poor"),
])
def test_judge_bands(mean: float, maximum: float, expected: str) -> None:
    assert judge(mean, maximum) == expected


@pytest.mark.parametrize("offset,expected", [
    pytest.param((0.2, 0.1), GOOD, id="small-offset-good"),
    pytest.param((0.7, 0.0), FAIR, id="0.7deg-fair"),
    pytest.param((1.3, 0.8), POOR, id="1.5deg-poor"),
])
def test_compute_validation_recovers_the_offset(offset: tuple[float, float], expected: str) -> None:
    shown, gaze = _session(offset)
    res = compute_validation(shown, gaze, SCREEN)
    true = math.hypot(*offset)
    assert res.judgement == expected, res.summary()
    assert len(res.targets) == 9 and all(t.n_samples > 200 for t in res.targets)
    # offsets are set in degrees from the screen centre, so they are exact at the centre target
    assert res.targets[0].accuracy_deg == pytest.approx(true, abs=0.05)
    assert res.mean_deg == pytest.approx(true, rel=0.15, abs=0.05)
    assert res.max_deg >= res.mean_deg
    assert res.rms_s2s_deg == pytest.approx(0.05, rel=0.3)
    d = res.to_dict()
    assert d["judgement"] == expected and len(d["targets"]) == 9 and d["targets"][0]["k"] == 1


def test_precision_rms_s2s_scales_with_noise() -> None:
    quiet = compute_validation(*_session((0.0, 0.0), precision=0.03), SCREEN)
    noisy = compute_validation(*_session((0.0, 0.0), precision=0.3), SCREEN)
    assert quiet.rms_s2s_deg == pytest.approx(0.03, rel=0.3)
    assert noisy.rms_s2s_deg == pytest.approx(0.3, rel=0.3)
    assert noisy.std_deg > 3 * quiet.std_deg
    # the window skips the saccade to each target: over the whole block, saccades would dominate
    shown, whole = _session((0.0, 0.0), precision=0.03)
    one = compute_validation([TargetShown(1, 960.0, 540.0, shown[0].onset, shown[-1].offset)], whole, SCREEN)
    assert one.rms_s2s_deg > 3 * quiet.rms_s2s_deg


def test_the_first_300ms_after_onset_are_skipped() -> None:
    # gaze sits on the previous target for 0.25 s after the new one appears, then moves
    t = np.arange(0, 2.0, 0.004) + 10.0
    x = np.where(t < 10.25, 200.0, 960.0)
    y = np.full_like(t, 540.0)
    shown = [TargetShown(1, 960.0, 540.0, 10.0, 12.0)]
    good = compute_validation(shown, GazeBlock.from_arrays(t, x, y), SCREEN, skip_s=0.3)
    assert good.judgement == GOOD and good.targets[0].max_error_deg == pytest.approx(0.0)
    no_skip = compute_validation(shown, GazeBlock.from_arrays(t, x, y), SCREEN, skip_s=0.0)
    assert no_skip.targets[0].max_error_deg > 10


def test_a_target_without_gaze_makes_it_poor() -> None:
    shown, gaze = _session((0.1, 0.1), n_targets=5)
    lost = np.where((gaze.t >= shown[2].onset) & (gaze.t < shown[2].offset), np.nan, gaze.x)
    res = compute_validation(shown, GazeBlock(gaze.t, lost, gaze.y, gaze.pupil), SCREEN)
    assert res.judgement == POOR and "3" in res.reason
    assert not res.targets[2].measured and res.to_dict()["targets"][2]["accuracy_deg"] is None
    assert res.targets[0].measured


def test_no_targets_is_an_error() -> None:
    with pytest.raises(GazeDataError, match="no targets"):
        compute_validation([], GazeBlock.empty(), SCREEN)


def test_validation_runs_from_markers_keeps_finished_runs() -> None:
    markers = [
        (1.0, validation_target_marker(1, 960, 540)), (2.0, validation_target_marker(2, 192, 108)),
        (3.0, "VALIDATION_END"),
        (4.0, validation_target_marker(1, 960, 540)), (4.5, "ABORT"),  # cut off: dropped
        (6.0, validation_target_marker(1, 960, 540)), (7.0, "VALIDATION_END"), (7.5, "TRIALID 1"),
    ]
    runs = validation_runs(markers)
    assert len(runs) == 2
    assert [(t.k, t.x, t.y, t.onset, t.offset) for t in runs[0]] == [(1, 960.0, 540.0, 1.0, 2.0),
                                                                    (2, 192.0, 108.0, 2.0, 3.0)]
    assert runs[1][0].offset == 7.0


def test_malformed_validation_marker_names_it() -> None:
    with pytest.raises(GazeDataError, match="VALIDATION_TARGET k x y"):
        validation_runs([(1.0, "VALIDATION_TARGET one")])


def test_latest_validation_uses_the_last_finished_run() -> None:
    shown, gaze = _session((0.2, 0.0), n_targets=5)
    markers = [(t.onset, validation_target_marker(t.k, t.x, t.y)) for t in shown] + [(shown[-1].offset, "VALIDATION_END")]
    early = [(50.0, validation_target_marker(1, 960, 540)), (51.0, "VALIDATION_END")]  # no gaze then
    res = latest_validation(early + markers, gaze, SCREEN)
    assert res is not None and res.judgement == GOOD and len(res.targets) == 5
    assert compute_validation(validation_runs(early)[0], gaze, SCREEN).judgement == POOR
    assert latest_validation([(1.0, "TRIALID 1")], gaze, SCREEN) is None
