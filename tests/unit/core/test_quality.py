"""Data quality figures, checked against ETDQualitizer (the reference implementation) on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.quality import (
    ValidationTarget,
    accuracy,
    data_loss_percent,
    effective_rate_hz,
    px_to_fick,
    rms_s2s,
    std,
    validation_quality,
)

GEOM = ScreenGeometry(1920, 1080, 53.3, 30.0, 65.0)
RATE = 300.0
TARGETS_PX = [(960, 540), (192, 108), (1728, 108), (192, 972), (1728, 972)]


def _validation_gaze(seed: int = 0) -> tuple[GazeBlock, list[ValidationTarget]]:
    """1.5 s per target: gaze offset by a target-specific error plus white noise, 5 % samples lost."""
    rng = np.random.default_rng(seed)
    ts, xs, ys, targets = [], [], [], []
    t0 = 100.0
    for tx, ty in TARGETS_PX:
        n = int(1.5 * RATE)
        t = t0 + np.arange(n) / RATE
        off = rng.normal(0, 15, 2)
        x = tx + off[0] + rng.normal(0, 4, n)
        y = ty + off[1] + rng.normal(0, 4, n)
        lost = rng.random(n) < 0.05
        x[lost] = np.nan
        y[lost] = np.nan
        ts.append(t)
        xs.append(x)
        ys.append(y)
        targets.append(ValidationTarget(tx, ty, t0, t0 + n / RATE))
        t0 += n / RATE
    return GazeBlock.from_arrays(np.concatenate(ts), np.concatenate(xs), np.concatenate(ys)), targets


def test_matches_etdqualitizer() -> None:
    etdq = pytest.importorskip("ETDQualitizer")
    block, targets = _validation_gaze()
    screen = etdq.ScreenConfiguration(GEOM.width_cm * 10, GEOM.height_cm * 10, GEOM.width_px, GEOM.height_px,
                                      GEOM.distance_cm * 10)
    for tg in targets:
        w = block.between(tg.t0, tg.t1)
        dq = etdq.DataQuality(w.x - GEOM.width_px / 2, w.y - GEOM.height_px / 2, w.t, unit="pixels", screen=screen)
        tazi, tele = screen.pix_to_deg(tg.x_px - GEOM.width_px / 2, tg.y_px - GEOM.height_px / 2)
        azi, ele = px_to_fick(GEOM, w.x, w.y)
        np.testing.assert_allclose(accuracy(azi, ele, float(tazi), float(tele)), dq.accuracy(tazi, tele), atol=1e-9)
        np.testing.assert_allclose(rms_s2s(azi, ele), dq.precision_RMS_S2S(), rtol=1e-9)
        np.testing.assert_allclose(std(azi, ele), dq.precision_STD(), rtol=1e-9)
        assert data_loss_percent(w.x, w.y) == pytest.approx(dq.data_loss_from_invalid())
        assert effective_rate_hz(w.t, w.x, w.y) == pytest.approx(dq.effective_frequency())


def test_validation_summary() -> None:
    block, targets = _validation_gaze()
    rep = validation_quality(block, targets, GEOM)
    acc = [q.accuracy_deg for q in rep.targets]
    assert rep.accuracy_mean_deg == pytest.approx(np.mean(acc)) and rep.accuracy_max_deg == max(acc)
    assert 0.1 < rep.accuracy_mean_deg < 1.5  # 15 px offsets at 65 cm are about 0.3-0.7 deg
    # white noise of 4 px per axis: STD about 4 px * sqrt(2), RMS-S2S about sqrt(2) times that
    ppd = GEOM.px_per_deg
    assert rep.std_deg == pytest.approx(4 * math.sqrt(2) / ppd, rel=0.15)
    assert rep.rms_s2s_deg == pytest.approx(4 * 2 / ppd, rel=0.15)
    assert rep.data_loss_percent == pytest.approx(5, abs=1.5)
    assert rep.effective_rate_hz == pytest.approx(RATE * 0.95, rel=0.02)


def test_accuracy_of_a_known_offset() -> None:
    azi = np.full(10, 11.0)
    ele = np.full(10, 0.0)
    total, da, de = accuracy(azi, ele, 10.0, 0.0)
    assert total == pytest.approx(1.0) and da == pytest.approx(1.0) and de == pytest.approx(0.0, abs=1e-12)


def test_unmeasurable_targets() -> None:
    block, targets = _validation_gaze()
    empty = ValidationTarget(960, 540, 1.0, 2.0)  # before the recording
    rep = validation_quality(block, [*targets, empty], GEOM)
    assert rep.targets[-1].n_samples == 0 and math.isnan(rep.targets[-1].accuracy_deg)
    with pytest.raises(GazeDataError):
        validation_quality(block, [empty], GEOM)
    with pytest.raises(GazeDataError):
        ValidationTarget(1, 1, 2.0, 1.0)
