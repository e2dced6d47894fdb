"""Sample-level agreement with the expert coder on six real EyeLink recordings (irf data).

Measured (pooled over the six files, docs/detection.md): nh fixation 0.868 / saccade 0.846,
ivt 0.841 / 0.835, idt 0.701 / 0.615. The floors sit just under these figures.
"""

from __future__ import annotations

import pytest

from app.detection.evaluation import degrade, evaluate, load_irf
from app.detection.pipeline import DEFAULT_METHOD
from tests.conftest import SHARED_DATA, missing

FLOORS = {  # method: (fixation kappa, saccade kappa), pooled
    "nh": (0.86, 0.83),
    "ivt": (0.83, 0.82),
    "idt": (0.69, 0.60),
}


@pytest.fixture(scope="module")
def recordings():
    shared = SHARED_DATA / "irf_lookatpoint"
    if not shared.is_dir():
        missing(f"expert-coded data not found at {shared}")
    return load_irf(shared)


@pytest.mark.parametrize("method", [pytest.param(m, id=m) for m in FLOORS])
def test_kappa_floor(recordings, method: str) -> None:
    r = evaluate(recordings, method)
    fix_floor, sacc_floor = FLOORS[method]
    assert r["fixation_pooled"] >= fix_floor
    assert r["saccade_pooled"] >= sacc_floor


def test_default_method_scores_best(recordings) -> None:
    scores = {m: evaluate(recordings, m) for m in FLOORS}
    best = max(scores, key=lambda m: scores[m]["fixation_pooled"] + scores[m]["saccade_pooled"])
    assert best == DEFAULT_METHOD
    assert scores["nh"]["pso_pooled"] > 0.5


@pytest.mark.parametrize(("step", "noise_deg", "noisy_from", "fix_floor", "sacc_floor"), [
    pytest.param(4, 0.1, 0.0, 0.81, 0.82, id="250Hz-noise0.1"),
    pytest.param(4, 0.3, 0.0, 0.74, 0.76, id="250Hz-noise0.3"),
    pytest.param(16, 0.3, 0.0, 0.72, 0.72, id="62Hz-noise0.3"),
    pytest.param(4, 0.3, 0.5, 0.73, 0.67, id="250Hz-noise-changes-midway"),
])
def test_robust_to_lower_rate_and_noise(recordings, step: int, noise_deg: float, noisy_from: float,
                                        fix_floor: float, sacc_floor: float) -> None:
    """The same recordings thinned and with white noise added still agree with the expert."""
    r = evaluate([degrade(rec, step=step, noise_deg=noise_deg, noisy_from=noisy_from) for rec in recordings],
                 DEFAULT_METHOD)
    assert r["fixation_pooled"] > fix_floor and r["saccade_pooled"] > sacc_floor
