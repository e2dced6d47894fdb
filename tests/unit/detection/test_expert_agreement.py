"""Sample-level agreement with expert coders on real recordings of two trackers (docs/detection.md).

irf (Zemblys et al. 2018): six EyeLink 1000 Plus recordings at 1000 Hz, one expert. Measured, pooled over
the six files: nh fixation 0.900 / saccade 0.873, ivt 0.841 / 0.835, idt 0.701 / 0.615.
Hooge et al. 2018: 70 Tobii TX300 recordings at 300 Hz, 12 expert coders; fixation kappa pooled per coder,
mean over the coders: nh 0.838, ivt 0.703, idt 0.261 (coder pairs agree at 0.854).
The floors sit just under these figures; the issue's targets (irf >= 0.85, Hooge >= 0.80) under those.
"""

from __future__ import annotations

import pytest

from app.detection.evaluation import degrade, evaluate, load_irf
from app.detection.hooge import evaluate_hooge, load_hooge
from app.detection.pipeline import DEFAULT_METHOD
from tests.conftest import SHARED_DATA, missing

FLOORS = {  # method: (fixation kappa, saccade kappa), pooled
    "nh": (0.89, 0.86),
    "ivt": (0.83, 0.82),
    "idt": (0.69, 0.60),
}
HOOGE_FLOORS = {"nh": 0.825, "ivt": 0.69}  # fixation kappa, mean over the 12 coders


@pytest.fixture(scope="module")
def recordings():
    shared = SHARED_DATA / "irf_lookatpoint"
    if not shared.is_dir():
        missing(f"expert-coded data not found at {shared}")
    return load_irf(shared)


@pytest.fixture(scope="module")
def hooge():
    shared = SHARED_DATA / "hooge2018"
    if not shared.is_dir():
        missing(f"expert-coded data not found at {shared}")
    return load_hooge(shared)


@pytest.mark.parametrize("method", [pytest.param(m, id=m) for m in FLOORS])
def test_kappa_floor(recordings, method: str) -> None:
    r = evaluate(recordings, method)
    fix_floor, sacc_floor = FLOORS[method]
    assert r["fixation_pooled"] >= fix_floor
    assert r["saccade_pooled"] >= sacc_floor


@pytest.mark.parametrize("method", [pytest.param(m, id=m) for m in HOOGE_FLOORS])
def test_hooge2018_fixation_kappa_floor(hooge, method: str) -> None:
    r = evaluate_hooge(hooge, method)
    assert r["all_mean"] >= HOOGE_FLOORS[method]
    if method == DEFAULT_METHOD:
        assert r["all_min"] >= 0.79  # the coder that agrees least with it
        assert r["adult_mean"] >= 0.69  # adult coders agree with each other at 0.752 only


def test_hooge2018_is_read_as_the_authors_do(hooge) -> None:
    assert len(hooge) == 70 and sum(r.group == "adult" for r in hooge) == 10
    assert sorted({c for r in hooge for c in r.coders}) == sorted(
        ["DN", "IH", "JB", "JF", "JV", "KH", "MN", "MS", "PZ", "RA", "RH", "TC"])
    assert min(len(r.coders) for r in hooge) >= 10  # three coders left one or two files uncoded
    from app.detection.hooge import pair_kappas, summary

    s = summary(pair_kappas(hooge))  # the data README: 0.854 on average (0.735 to 0.921)
    assert s["mean"] == pytest.approx(0.854, abs=0.002) and s["min"] == pytest.approx(0.735, abs=0.002)


def test_default_method_scores_best(recordings) -> None:
    scores = {m: evaluate(recordings, m) for m in FLOORS}
    best = max(scores, key=lambda m: scores[m]["fixation_pooled"] + scores[m]["saccade_pooled"])
    assert best == DEFAULT_METHOD
    assert scores["nh"]["pso_pooled"] > 0.55


@pytest.mark.parametrize(("step", "noise_deg", "noisy_from", "fix_floor", "sacc_floor"), [
    pytest.param(2, 0.0, 0.0, 0.88, 0.86, id="500Hz"),
    pytest.param(4, 0.1, 0.0, 0.83, 0.83, id="250Hz-noise0.1"),
    pytest.param(4, 0.3, 0.0, 0.76, 0.78, id="250Hz-noise0.3"),
    pytest.param(16, 0.0, 0.0, 0.77, 0.69, id="62Hz"),
    pytest.param(16, 0.3, 0.0, 0.72, 0.72, id="62Hz-noise0.3"),
    # window and thresholds follow the noise of the 10 s before each second (0.632 / 0.649; 0.750 / 0.686
    # when the window came from the whole recording, which the live detector cannot know)
    pytest.param(4, 0.3, 0.5, 0.62, 0.63, id="250Hz-noise-changes-midway"),
])
def test_robust_to_lower_rate_and_noise(recordings, step: int, noise_deg: float, noisy_from: float,
                                        fix_floor: float, sacc_floor: float) -> None:
    """The same recordings thinned and with white noise added still agree with the expert."""
    r = evaluate([degrade(rec, step=step, noise_deg=noise_deg, noisy_from=noisy_from) for rec in recordings],
                 DEFAULT_METHOD)
    assert r["fixation_pooled"] > fix_floor and r["saccade_pooled"] > sacc_floor


@pytest.mark.slow
@pytest.mark.parametrize(("step", "noise_deg", "floor"), [
    pytest.param(2, 0.0, 0.81, id="150Hz"),
    pytest.param(5, 0.0, 0.83, id="60Hz"),
    pytest.param(5, 0.2, 0.83, id="60Hz-noise0.2"),
])
def test_hooge2018_degraded(hooge, step: int, noise_deg: float, floor: float) -> None:
    """The Tobii recordings thinned to 150 and 60 Hz, with noise added: the same default still agrees."""
    from app.detection.hooge import degrade_hooge

    worse = [r for r in (degrade_hooge(x, step=step, noise_deg=noise_deg) for x in hooge) if len(r.block) >= 10]
    assert evaluate_hooge(worse, DEFAULT_METHOD)["all_mean"] >= floor
