"""I-VT: velocity-threshold identification of fixations and saccades.

Salvucci & Goldberg 2000, "Identifying fixations and saccades in eye-tracking protocols",
Proc. ETRA, 71-78: a sample is a saccade sample when its point-to-point angular velocity is
above a threshold, a fixation sample otherwise. The 30 deg/s default is the Tobii Pro I-VT
filter's (Olsen 2012). Velocity comes from :mod:`app.detection.velocity`; post-processing
(merging, minimum duration, blinks) from :mod:`app.detection.segments`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.detection.segments import FIX, LOSS, SACC

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class IvtParams:
    velocity_threshold_deg_s: float = 30.0

    def __post_init__(self) -> None:
        v = self.velocity_threshold_deg_s
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise GazeDataError(f"I-VT: velocity_threshold_deg_s must be a positive number, got {v!r}")


def ivt_fixation_mask(velocity_deg_s: F64, threshold_deg_s: float) -> NDArray[np.bool_]:
    """True where a sample is a fixation sample (finite velocity at or below the threshold)."""
    v = np.asarray(velocity_deg_s, dtype=np.float64)
    if v.ndim != 1:
        raise GazeDataError("I-VT: velocity must be a one-dimensional array")
    if not threshold_deg_s > 0:
        raise GazeDataError(f"I-VT: threshold must be positive, got {threshold_deg_s!r}")
    return v <= threshold_deg_s


@numba.njit(cache=True, nogil=True)
def _codes(v: F64, ok: NDArray[np.bool_], threshold: float) -> NDArray[np.int8]:
    out = np.empty(len(v), dtype=np.int8)
    for i in range(len(v)):
        out[i] = (FIX if v[i] <= threshold else SACC) if ok[i] else LOSS
    return out


def ivt_codes(v: F64, ok: NDArray[np.bool_], params: IvtParams) -> NDArray[np.int8]:
    """Per-sample codes (FIX, SACC, LOSS) for the assembler (:func:`ivt_fixation_mask` where ``ok``); element-wise,
    so chunking cannot change it."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    if v.ndim != 1:
        raise GazeDataError("I-VT: velocity must be a one-dimensional array")
    return _codes(v, np.ascontiguousarray(ok, dtype=np.bool_), float(params.velocity_threshold_deg_s))


class IvtLabeller:
    """Online labelling for I-VT: every sample is decided as soon as its velocity is known."""

    def __init__(self, params: IvtParams) -> None:
        self.params = params

    def push(self, t: F64, xd: F64, yd: F64, v: F64, ok: NDArray[np.bool_]) -> NDArray[np.int8]:
        return ivt_codes(v, ok, self.params)

    def finish(self) -> NDArray[np.int8]:
        return np.empty(0, dtype=np.int8)
