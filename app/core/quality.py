"""Eye-tracking data quality as Titta and ETDQualitizer define it.

Definitions: Holmqvist, Nystrom & Mulvey 2012, "Eye tracker data quality: what it is and how
to measure it", ETRA '12; Niehorster et al. 2020, "Titta: A toolbox for creating PsychToolbox
and Psychopy experiments with Tobii eye trackers", Behav Res Methods 52:1970; and
Niehorster et al. 2025, "ETDQualitizer" (the reference implementation a test compares with):

- gaze positions become Fick angles (azimuth, elevation) of the direction from the eye to the
  point on the screen, the eye on the perpendicular through the screen centre;
- accuracy at a target: the angle between the target's direction and the mean gaze direction
  (the mean of the unit vectors, normalised), with its azimuth/elevation parts expressed in a
  frame centred on the target; over a validation: the mean and the maximum over targets;
- precision: RMS of sample-to-sample differences (missing samples stay in place, so pairs that
  touch one do not count) and the standard deviation of azimuth and elevation, each combined
  as ``hypot``-style totals;
- data loss: percentage of samples without a position; effective sampling rate: valid samples
  per second of recording, the recording lasting from the first sample to one median interval
  after the last.

:mod:`app.core.validation` judges a validation run for the operator (median centroid, EyeLink's
GOOD/FAIR/POOR bands); this module reports the figures in the form the literature compares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry

F64 = NDArray[np.float64]


def px_to_fick(geometry: ScreenGeometry, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
    """Screen pixels (top-left origin, y down) -> Fick azimuth and elevation in degrees (y down positive)."""
    cmx, cmy = geometry.cm_per_px
    xc = (np.asarray(x, dtype=np.float64) - geometry.width_px / 2) * cmx
    yc = (np.asarray(y, dtype=np.float64) - geometry.height_px / 2) * cmy
    d = geometry.distance_cm
    return np.degrees(np.arctan2(xc, d)), np.degrees(np.arctan2(yc, np.hypot(d, xc)))


def _unit(azi: ArrayLike, ele: ArrayLike) -> tuple[F64, F64, F64]:
    a, e = np.radians(np.asarray(azi, dtype=np.float64)), np.radians(np.asarray(ele, dtype=np.float64))
    return np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)


def accuracy(azi: F64, ele: F64, target_azi: float, target_ele: float) -> tuple[float, float, float]:
    """(total, azimuth, elevation) offset in degrees of the mean gaze direction from the target."""
    gx, gy, gz = _unit(azi, ele)
    g = np.array([np.nanmean(gx), np.nanmean(gy), np.nanmean(gz)])
    g = g / np.linalg.norm(g)
    ca, sa = math.cos(math.radians(target_azi)), math.sin(math.radians(target_azi))
    ce, se = math.cos(math.radians(target_ele)), math.sin(math.radians(target_ele))
    # rotate so that the target lies straight ahead: undo its azimuth (about y), then its elevation (about x)
    x1, z1 = ca * g[0] - sa * g[2], sa * g[0] + ca * g[2]
    y2, z2 = ce * g[1] - se * z1, se * g[1] + ce * z1
    off_azi = math.degrees(math.atan2(x1, z2))
    off_ele = math.degrees(math.atan2(y2, math.hypot(x1, z2)))
    total = math.degrees(math.atan2(math.hypot(x1, y2), z2))
    return total, off_azi, off_ele


def rms_s2s(azi: F64, ele: F64) -> tuple[float, float, float]:
    """(total, azimuth, elevation) RMS of sample-to-sample differences in degrees."""
    da, de = np.diff(azi) ** 2, np.diff(ele) ** 2
    return (float(np.sqrt(np.nanmean(da + de))), float(np.sqrt(np.nanmean(da))), float(np.sqrt(np.nanmean(de))))


def std(azi: F64, ele: F64) -> tuple[float, float, float]:
    """(total, azimuth, elevation) standard deviation in degrees (population SD, NaN ignored)."""
    sa, se = float(np.nanstd(azi)), float(np.nanstd(ele))
    return math.hypot(sa, se), sa, se


def data_loss_percent(x: F64, y: F64) -> float:
    missing = ~(np.isfinite(x) & np.isfinite(y))
    return float(100.0 * missing.mean()) if missing.size else math.nan


def recording_duration(t: F64) -> float:
    """First sample to one median interval after the last (the last sample's own duration)."""
    if len(t) < 2:
        raise GazeDataError("data quality: at least two samples are needed for a duration")
    return float(t[-1] - t[0] + np.median(np.diff(t)))


def effective_rate_hz(t: F64, x: F64, y: F64) -> float:
    valid = np.count_nonzero(np.isfinite(x) & np.isfinite(y))
    return valid / recording_duration(t)


@dataclass(frozen=True)
class TargetQuality:
    x_px: float
    y_px: float
    n_samples: int
    accuracy_deg: float
    accuracy_azi_deg: float
    accuracy_ele_deg: float
    rms_s2s_deg: float
    std_deg: float
    data_loss_percent: float
    effective_rate_hz: float


@dataclass(frozen=True)
class ValidationTarget:
    """A validation target on screen (px) and the interval (s) whose gaze counts for it."""

    x_px: float
    y_px: float
    t0: float
    t1: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.x_px, self.y_px, self.t0, self.t1)) or self.t1 <= self.t0:
            raise GazeDataError(f"validation target: need finite values and t0 < t1, got {self}")


@dataclass(frozen=True)
class QualityReport:
    targets: tuple[TargetQuality, ...]
    accuracy_mean_deg: float
    accuracy_max_deg: float
    rms_s2s_deg: float  # mean over targets
    std_deg: float  # mean over targets
    data_loss_percent: float  # over all target intervals
    effective_rate_hz: float  # over all target intervals


def target_quality(block: GazeBlock, target: ValidationTarget, geometry: ScreenGeometry) -> TargetQuality:
    w = block.between(target.t0, target.t1)
    azi, ele = px_to_fick(geometry, w.x, w.y)
    tazi, tele = px_to_fick(geometry, target.x_px, target.y_px)
    n_valid = int(np.count_nonzero(np.isfinite(azi) & np.isfinite(ele)))
    if n_valid < 2:
        nan = math.nan
        return TargetQuality(target.x_px, target.y_px, n_valid, nan, nan, nan, nan, nan,
                             data_loss_percent(w.x, w.y) if len(w) else 100.0, nan)
    acc = accuracy(azi, ele, float(tazi), float(tele))
    return TargetQuality(target.x_px, target.y_px, n_valid, *acc, rms_s2s(azi, ele)[0], std(azi, ele)[0],
                         data_loss_percent(w.x, w.y), effective_rate_hz(w.t, w.x, w.y))


def validation_quality(block: GazeBlock, targets: Sequence[ValidationTarget],
                       geometry: ScreenGeometry) -> QualityReport:
    """Per-target figures and their summary (mean/max accuracy, mean precision, loss, rate)."""
    if not targets:
        raise GazeDataError("data quality: no validation targets given")
    per = tuple(target_quality(block, tg, geometry) for tg in targets)
    measured = [q for q in per if math.isfinite(q.accuracy_deg)]
    if not measured:
        raise GazeDataError("data quality: no validation target has two or more valid gaze samples")
    windows = [block.between(tg.t0, tg.t1) for tg in targets]
    n_total = sum(len(w) for w in windows)
    n_valid = sum(int(np.count_nonzero(w.valid)) for w in windows)
    duration = sum(recording_duration(w.t) for w in windows if len(w) >= 2)
    return QualityReport(
        per, float(np.mean([q.accuracy_deg for q in measured])), float(np.max([q.accuracy_deg for q in measured])),
        float(np.mean([q.rms_s2s_deg for q in measured])), float(np.mean([q.std_deg for q in measured])),
        100.0 * (1 - n_valid / n_total) if n_total else 100.0, n_valid / duration if duration > 0 else math.nan)
