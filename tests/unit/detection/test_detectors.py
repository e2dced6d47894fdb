"""The detectors on tiny hand-made signals and on synthetic gaze with known labels."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.gaze_events import LABEL_CODES, cohen_kappa
from app.core.geometry import ScreenGeometry
from app.core.synthetic_gaze import SimParams, Target, synthesize_gaze
from app.detection.idt import IdtParams, idt_fixation_mask
from app.detection.ivt import IvtParams, ivt_fixation_mask
from app.detection.nh import NhParams
from app.detection.pipeline import METHODS, detect, make_params

GEOM = ScreenGeometry()
RATE = 500.0


def _step_signal() -> GazeBlock:
    """300 ms still at the centre, a 10 deg jump over 30 ms, 300 ms still: one saccade."""
    n1, n2, n3 = 150, 15, 150
    ppd = GEOM.px_per_deg
    x = np.concatenate([np.full(n1, 960.0), 960 + np.linspace(0, 10 * ppd, n2 + 2)[1:-1], np.full(n3, 960 + 10 * ppd)])
    t = np.arange(len(x)) / RATE
    return GazeBlock.from_arrays(t, x, np.full(len(x), 540.0))


@pytest.mark.parametrize("method", [pytest.param(m, id=m) for m in METHODS])
def test_one_saccade_between_two_fixations(method: str) -> None:
    res = detect(_step_signal(), GEOM, method=method)
    kinds = [e.kind for e in res.events if e.kind in ("fixation", "saccade")]
    assert kinds == ["fixation", "saccade", "fixation"]
    assert res.events[0].start_index == 0 and res.events[-1].stop_index == 315  # no false loss at the edges
    sacc = res.of_kind("saccade")[0]
    assert 150 - 10 <= sacc.start_index <= 150 + 2 and 165 - 2 <= sacc.stop_index <= 165 + 10
    if method != "idt":
        assert sacc.amplitude_deg == pytest.approx(10, abs=1.5)
        assert sacc.peak_velocity_deg_s > 200
    fx = res.fixations[1]
    assert fx.x == pytest.approx(960 + 10 * GEOM.px_per_deg, abs=2)
    assert res.labels.shape == (315,)
    assert res.params["method"] == method and "post.merge_gap_s" in res.params


def test_ivt_mask_is_a_threshold() -> None:
    v = np.array([0.0, 29.9, 30.0, 30.1, np.nan])
    np.testing.assert_array_equal(ivt_fixation_mask(v, 30.0), [True, True, True, False, False])
    with pytest.raises(GazeDataError):
        ivt_fixation_mask(v, 0.0)


def test_idt_grows_the_window_until_dispersion_exceeds_the_threshold() -> None:
    t = np.arange(20) / 100.0  # 100 Hz
    x = np.array([0.0] * 8 + [0.3] * 4 + [5.0] * 8)
    y = np.zeros(20)
    ok = np.ones(20, dtype=bool)
    fix = idt_fixation_mask(t, x, y, ok, dispersion_deg=1.0, min_duration_s=0.05)
    np.testing.assert_array_equal(fix, [True] * 12 + [True] * 8)  # two fixations back to back
    ok[3] = False  # missing sample inside the first window: windows holding it are no fixation
    fix = idt_fixation_mask(t, x, y, ok, dispersion_deg=1.0, min_duration_s=0.05)
    assert not fix[:4].any() and fix[4:12].all()


@pytest.mark.parametrize(("cls", "kwargs"), [
    pytest.param(IvtParams, {"velocity_threshold_deg_s": -1}, id="ivt-negative"),
    pytest.param(IdtParams, {"dispersion_threshold_deg": 0}, id="idt-zero"),
    pytest.param(IdtParams, {"min_duration_s": float("nan")}, id="idt-nan"),
    pytest.param(NhParams, {"pso_window_s": -0.1}, id="nh-negative"),
])
def test_bad_parameters_are_rejected(cls: type, kwargs: dict[str, float]) -> None:
    with pytest.raises(GazeDataError):
        cls(**kwargs)


def test_unknown_method_and_parameter() -> None:
    with pytest.raises(GazeDataError, match="unknown method"):
        make_params("ivt2")
    with pytest.raises(GazeDataError, match="bad parameter"):
        make_params("ivt", {"threshold": 3})


def _synthetic(rate: float, seed: int = 3) -> tuple[GazeBlock, np.ndarray]:
    rng = np.random.default_rng(seed)
    targets = [Target(float(rng.uniform(200, 1700)), float(rng.uniform(150, 900)), float(rng.uniform(0.2, 0.5)))
               for _ in range(25)]
    s = synthesize_gaze(targets, rate, GEOM, SimParams(), np.random.default_rng(seed + 1))
    return s.block, s.labels


@pytest.mark.parametrize(("method", "rate", "fix_floor", "sacc_floor"), [
    pytest.param("nh", 1000.0, 0.7, 0.85, id="nh-1000Hz"),
    pytest.param("ivt", 1000.0, 0.6, 0.85, id="ivt-1000Hz"),
    pytest.param("nh", 120.0, 0.6, 0.8, id="nh-120Hz"),
    pytest.param("nh", 60.0, 0.75, 0.8, id="nh-60Hz"),  # the same default from 60 to 2000 Hz
    pytest.param("nh", 300.0, 0.75, 0.85, id="nh-300Hz"),
    pytest.param("nh", 2000.0, 0.75, 0.85, id="nh-2000Hz"),
    pytest.param("ivt", 120.0, 0.6, 0.8, id="ivt-120Hz"),
    pytest.param("idt", 250.0, 0.4, 0.6, id="idt-250Hz"),
])
def test_agreement_with_synthetic_truth(method: str, rate: float, fix_floor: float, sacc_floor: float) -> None:
    block, truth = _synthetic(rate)
    res = detect(block, GEOM, method=method)
    fix = cohen_kappa(res.labels == LABEL_CODES["fixation"], truth == LABEL_CODES["fixation"])
    sacc = cohen_kappa(res.labels == LABEL_CODES["saccade"], truth == LABEL_CODES["saccade"])
    assert fix > fix_floor and sacc > sacc_floor


def test_nh_finds_post_saccadic_oscillations() -> None:
    block, truth = _synthetic(1000.0)
    res = detect(block, GEOM, method="nh")
    assert len(res.of_kind("pso")) > 10
    pso = cohen_kappa(res.labels == LABEL_CODES["pso"], truth == LABEL_CODES["pso"])
    assert pso > 0.3


@pytest.mark.parametrize(("rate", "message"), [
    pytest.param(0.0, "positive finite", id="zero"),
    pytest.param(-500.0, "positive finite", id="negative"),
    pytest.param(float("inf"), "positive finite", id="infinite"),
    pytest.param(float("nan"), "positive finite", id="nan"),
    pytest.param(True, "must be a number", id="bool"),
    pytest.param("500", "must be a number", id="string"),
    pytest.param(1000.0, "does not match the time stamps", id="twice"),
    pytest.param(300.0, "does not match the time stamps", id="too-low"),
])
def test_bad_rates_are_refused(rate: object, message: str) -> None:
    block = _step_signal()  # 500 Hz time stamps
    for method in METHODS:
        with pytest.raises(GazeDataError, match=message):
            detect(block, GEOM, method=method, rate_hz=rate)  # type: ignore[arg-type]
    assert detect(block, GEOM, rate_hz=520.0).params["sampling_rate_hz"] == 520.0  # jitter is fine


@pytest.mark.parametrize("value", [1e308, -1e308, float("inf"), 2e6])
def test_coordinates_that_are_no_screen_positions_are_refused(value: float) -> None:
    block = _step_signal()
    y = block.y.copy()
    y[20] = value
    with pytest.raises(GazeDataError, match="y of sample 20 is"):
        detect(GazeBlock.from_arrays(block.t, block.x, y), GEOM)
