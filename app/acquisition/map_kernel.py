"""The compiled loop of :meth:`app.acquisition.channels.ChannelMap.apply` (numba), one pass per chunk.

A live chunk is a few dozen samples: the ~40 small numpy operations of the array form cost more than the
work itself (about 0.2 ms a chunk). This loop does the same per sample, with the same operations in the
same order (a test compares it with the array form, :func:`apply_arrays`, on every layout and on garbage),
in a few microseconds. ``cache=True`` keeps the machine code in ``__pycache__`` (or numba's user cache
when the package folder is read-only), so only the first process on a machine compiles it.

Slots are passed as an int64 array in the order of :data:`app.acquisition.channels.SLOTS` (-1 = absent).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

LX, LY, RX, RY, LP, RP, CONF, LV, RV = range(9)


@numba.njit(cache=True, nogil=True)
def _missing(v: float, missing: F64) -> bool:
    for m in missing:  # noqa: SIM110 - a loop numba compiles (any() over a generator it does not)
        if v == m:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def map_chunk(d: NDArray, slots: NDArray[np.int64], normalized: bool, y_bottom: bool, w: float, h: float,
              min_confidence: float, max_validity: float, missing: F64) -> F64:
    """Rows left_x, left_y, right_x, right_y, x, y, pupil of a (n, channels) chunk (see ``ChannelMap.apply``)."""
    n = d.shape[0]
    out = np.full((7, n), np.nan)
    for i in range(n):
        bad = False
        if slots[CONF] >= 0:
            bad = not (float(d[i, slots[CONF]]) >= min_confidence)
        unusable_l = bad or (slots[LV] >= 0 and not (float(d[i, slots[LV]]) <= max_validity))
        unusable_r = bad or (slots[RV] >= 0 and not (float(d[i, slots[RV]]) <= max_validity))
        for e in range(2):
            ix, iy = slots[2 * e], slots[2 * e + 1]
            if ix < 0 or iy < 0:
                continue
            x, y = float(d[i, ix]), float(d[i, iy])
            lost = (unusable_l if e == 0 else unusable_r) or not (math.isfinite(x) and math.isfinite(y))
            if not lost and (_missing(x, missing) or _missing(y, missing)):
                lost = True
            if not lost:
                if normalized:
                    x = x * w
                    y = (1.0 - y) * h if y_bottom else y * h
                out[2 * e, i] = x
                out[2 * e + 1, i] = y
        for r in range(2):  # x, y: the eyes' mean, or the one eye present
            a, b = out[r, i], out[2 + r, i]
            out[4 + r, i] = b if math.isnan(a) else a if math.isnan(b) else a / 2 + b / 2
        total, count, any_pupil = 0.0, 0, False
        for e in range(2):
            ip = slots[LP + e]
            if ip < 0:
                continue
            any_pupil = True
            p = math.nan if (unusable_l if e == 0 else unusable_r) else float(d[i, ip])
            if _missing(p, missing) or not p > 0:
                continue
            total += p  # the array form's nansum: infinities count in the sum, not in the count
            if math.isfinite(p):
                count += 1
        if any_pupil and count > 0:
            out[6, i] = total / count
    return out


def warm_up() -> None:
    """Load (or compile) :func:`map_chunk` for the argument types ``ChannelMap.apply`` passes, before the first chunk."""
    map_chunk(np.zeros((1, 2)), np.array([0, 1, -1, -1, -1, -1, -1, -1, -1], dtype=np.int64), False, False,
              1920.0, 1080.0, 0.0, 1.0, np.zeros(0))
