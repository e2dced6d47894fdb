"""Validation of the eye tracker's calibration: accuracy and precision at known targets.

The calibration itself stays with the tracker's own software. After it, the participant
screen shows 5 or 9 targets one at a time (markers ``VALIDATION_TARGET k x y``, then
``VALIDATION_END``); this module turns the gaze recorded meanwhile into figures:

- **accuracy** at a target: the angle between the target and the gaze centroid (the
  median of the valid samples, robust to a blink or a stray saccade), in degrees; also
  the mean and maximum angle of the single samples to the target, for the report;
- **precision**: RMS of the sample-to-sample angles (RMS-S2S) and the standard deviation
  of the samples around their centroid (STD), both in degrees, computed by
  :mod:`app.core.quality` (one definition of each in POV Lab).

Definitions after Holmqvist, Nyström & Mulvey (2012), "Eye tracker data quality: what it
is and how to measure it", ETRA '12, 45-52. The first ``skip_s`` seconds after a target
appears (the saccade to it and its landing, ~300 ms) are left out.

The judgement follows SR Research's EyeLink validation bands, applied to the mean and the
maximum of the per-target accuracies: GOOD when mean < 0.5 deg and max < 1.0 deg, FAIR
when mean < 1.0 deg and max < 1.5 deg, POOR otherwise (and POOR when a target got too
few valid samples to be measured).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.markers import parse_marker
from app.core.quality import px_to_fick, rms_s2s, std

GOOD, FAIR, POOR = "GOOD", "FAIR", "POOR"
# (judgement, mean accuracy below, max accuracy below), strictest first.
BANDS: tuple[tuple[str, float, float], ...] = ((GOOD, 0.5, 1.0), (FAIR, 1.0, 1.5))
TARGET_MARGIN = 0.1  # targets sit at 10 % / 50 % / 90 % of the screen's width and height


@dataclass(frozen=True)
class TargetShown:
    """One validation target as it was shown: index k (1-based), screen px, LSL times."""

    k: int
    x: float
    y: float
    onset: float
    offset: float

    def __post_init__(self) -> None:
        if self.k < 1:
            raise GazeDataError(f"validation target: index must be >= 1, got {self.k}")
        if not (math.isfinite(self.onset) and math.isfinite(self.offset) and self.offset > self.onset):
            raise GazeDataError(f"validation target {self.k}: offset must follow onset "
                                f"(onset {self.onset}, offset {self.offset})")


@dataclass(frozen=True)
class TargetResult:
    k: int
    x: float
    y: float
    n_samples: int  # valid samples in the window
    accuracy_deg: float  # centroid to target; NaN when not measured
    mean_error_deg: float  # mean over samples of the sample-to-target angle
    max_error_deg: float
    rms_s2s_deg: float
    std_deg: float

    @property
    def measured(self) -> bool:
        return math.isfinite(self.accuracy_deg)


@dataclass(frozen=True)
class ValidationResult:
    targets: tuple[TargetResult, ...]
    mean_deg: float  # mean of the per-target accuracies
    max_deg: float  # max of the per-target accuracies
    rms_s2s_deg: float  # mean over targets
    std_deg: float  # mean over targets
    judgement: str  # GOOD | FAIR | POOR
    reason: str  # one line saying why, for the operator

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return round(v, 4) if math.isfinite(v) else None

        return {
            "judgement": self.judgement, "reason": self.reason,
            "mean_deg": num(self.mean_deg), "max_deg": num(self.max_deg),
            "rms_s2s_deg": num(self.rms_s2s_deg), "std_deg": num(self.std_deg),
            "targets": [{"k": t.k, "x": t.x, "y": t.y, "n_samples": t.n_samples,
                         "accuracy_deg": num(t.accuracy_deg), "mean_error_deg": num(t.mean_error_deg),
                         "max_error_deg": num(t.max_error_deg), "rms_s2s_deg": num(t.rms_s2s_deg),
                         "std_deg": num(t.std_deg)} for t in self.targets],
        }

    def summary(self) -> str:
        return (f"validation {self.judgement}: mean {self.mean_deg:.2f} deg, max {self.max_deg:.2f} deg, "
                f"RMS-S2S {self.rms_s2s_deg:.3f} deg ({self.reason})")


def target_positions(screen: ScreenGeometry, count: int) -> tuple[tuple[float, float], ...]:
    """Screen px of the 5 (centre and corners) or 9 (3 x 3 grid) targets, centre first."""
    if count not in (5, 9):
        raise GazeDataError(f"validation: expected 5 or 9 targets, got {count}")
    w, h = screen.width_px, screen.height_px
    xs = (TARGET_MARGIN * w, w / 2, (1 - TARGET_MARGIN) * w)
    ys = (TARGET_MARGIN * h, h / 2, (1 - TARGET_MARGIN) * h)
    grid = [(x, y) for y in ys for x in xs]
    if count == 5:
        grid = [grid[i] for i in (0, 2, 6, 8)]
    else:
        grid.remove((w / 2, h / 2))
    return tuple([(w / 2, h / 2)] + grid)


def judge(mean_deg: float, max_deg: float) -> str:
    """GOOD / FAIR / POOR from the mean and maximum accuracy (SR Research's bands)."""
    for name, mean_below, max_below in BANDS:
        if mean_deg < mean_below and max_deg < max_below:
            return name
    return POOR


def _measure(target: TargetShown, gaze: GazeBlock, screen: ScreenGeometry, skip_s: float,
             min_samples: int) -> TargetResult:
    win = gaze.between(target.onset + skip_s, target.offset)
    ok = win.valid
    x, y = win.x[ok], win.y[ok]
    n = len(x)
    if n < min_samples:
        nan = math.nan
        return TargetResult(target.k, target.x, target.y, n, nan, nan, nan, nan, nan)
    cx, cy = float(np.median(x)), float(np.median(y))
    err = screen.angle_between_px(x, y, target.x, target.y)
    azi, ele = px_to_fick(screen, win.x, win.y)  # missing samples stay in place for RMS-S2S
    return TargetResult(
        target.k, target.x, target.y, n,
        accuracy_deg=float(screen.angle_between_px(cx, cy, target.x, target.y)),
        mean_error_deg=float(np.mean(err)), max_error_deg=float(np.max(err)),
        rms_s2s_deg=rms_s2s(azi, ele)[0], std_deg=std(azi, ele)[0])


def compute_validation(targets: Sequence[TargetShown], gaze: GazeBlock, screen: ScreenGeometry,
                       skip_s: float = 0.3, min_samples: int = 10) -> ValidationResult:
    """Accuracy and precision per target and overall, with the GOOD/FAIR/POOR judgement."""
    if not targets:
        raise GazeDataError("validation: no targets were shown (no VALIDATION_TARGET markers)")
    if skip_s < 0 or min_samples < 2:
        raise GazeDataError("validation: skip_s must be >= 0 and min_samples >= 2")
    if len(gaze) > 1 and np.any(np.diff(gaze.t) < 0):
        raise GazeDataError("validation: gaze time stamps are not sorted")
    results = tuple(_measure(t, gaze, screen, skip_s, min_samples) for t in targets)
    measured = [r for r in results if r.measured]
    missing = [r.k for r in results if not r.measured]
    if not measured:
        nan = math.nan
        return ValidationResult(results, nan, nan, nan, nan, POOR,
                                f"no target had {min_samples} valid gaze samples")
    acc = np.array([r.accuracy_deg for r in measured])
    mean_deg, max_deg = float(np.mean(acc)), float(np.max(acc))
    rms = float(np.nanmean([r.rms_s2s_deg for r in measured]))
    std = float(np.mean([r.std_deg for r in measured]))
    if missing:
        judgement, reason = POOR, f"too few valid gaze samples at target(s) {', '.join(map(str, missing))}"
    else:
        judgement = judge(mean_deg, max_deg)
        worst = max(measured, key=lambda r: r.accuracy_deg)
        reason = f"{len(measured)} targets, worst is target {worst.k}"
    return ValidationResult(results, mean_deg, max_deg, rms, std, judgement, reason)


def validation_runs(markers: Sequence[tuple[float, str]]) -> list[tuple[TargetShown, ...]]:
    """Targets of each validation run found in ``(timestamp, marker)`` pairs, oldest run first.

    A target lasts until the next ``VALIDATION_TARGET`` or ``VALIDATION_END``; a run that
    was cut off (``ABORT`` or the end of the recording) without ``VALIDATION_END`` is dropped.
    """
    runs: list[tuple[TargetShown, ...]] = []
    current: list[tuple[int, float, float, float]] = []
    for ts, text in sorted(markers, key=lambda p: p[0]):
        m = parse_marker(text)
        if m.kind == "VALIDATION_TARGET":
            try:
                k, x, y = int(m.args[0]), float(m.args[1]), float(m.args[2])
            except (IndexError, ValueError) as exc:
                raise GazeDataError(f"validation: malformed marker {text!r} "
                                    "(expected VALIDATION_TARGET k x y)") from exc
            current.append((k, x, y, ts))
        elif m.kind == "VALIDATION_END" and current:
            ends = [c[3] for c in current[1:]] + [ts]
            runs.append(tuple(TargetShown(k, x, y, on, off)
                              for (k, x, y, on), off in zip(current, ends, strict=True)))
            current = []
        elif m.kind == "ABORT":
            current = []
    return runs


def validation_target_marker(k: int, x: float, y: float) -> str:
    return f"VALIDATION_TARGET {k} {x:.1f} {y:.1f}"


VALIDATION_END = "VALIDATION_END"


def latest_validation(markers: Sequence[tuple[float, str]], gaze: GazeBlock, screen: ScreenGeometry,
                      skip_s: float = 0.3, min_samples: int = 10) -> ValidationResult | None:
    """Figures of the last finished validation run in a session's markers; None when there was none."""
    runs = validation_runs(markers)
    return compute_validation(runs[-1], gaze, screen, skip_s, min_samples) if runs else None
