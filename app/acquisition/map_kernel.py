"""The compiled loop of :meth:`app.acquisition.channels.ChannelMap.apply` (numba), one pass per chunk.

A live chunk is a few dozen samples: the ~40 small numpy operations of the array form cost more than the
work itself (about 0.2 ms a chunk). This loop does the same per sample, with the same operations in the
same order (a test compares it with the array form it replaced, kept in
``tests/unit/acquisition/reference_channel_map.py``, on every layout and on garbage),
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


@numba.njit(cache=True, nogil=True)
def ingest_chunk(d: NDArray, ts: F64, prev: float, rate_hz: float, gap_s: float, slots: NDArray[np.int64],
                 normalized: bool, y_bottom: bool, w: float, h: float, min_confidence: float, max_validity: float,
                 missing: F64, eye: int, margin: float, qw: float, qh: float) -> tuple[F64, int, NDArray[np.int64], int, int, int, float,
                                                                  float]:
    """One chunk of the acquisition in one call: :func:`map_chunk`, then what the acquisition and its quality
    monitor count (the array forms are ``GazeAcquisition``'s loss rule and ``GazeQualityMonitor.counts``).

    ``prev``: the previous chunk's last time stamp (NaN: none). ``eye``: 0 left, 1 right, 2 the mean (rows of
    the result used for ``invalid`` and the quality counts). Returns the mapped rows, the samples lost inside
    the stream (steps over 1.5 periods and up to ``gap_s``), the indices of the samples after a gap (step over
    ``gap_s``), the samples without a position, and for the quality monitor the samples with a finite position,
    those far off the ``qw`` x ``qh`` screen (more than ``margin`` screen sizes beyond an edge) and the sums of their x and y.
    """
    out = map_chunk(d, slots, normalized, y_bottom, w, h, min_confidence, max_validity, missing)
    n = d.shape[0]
    lost, n_gaps = 0, 0
    gaps = np.empty(n, dtype=np.int64)
    small = 1.5 / rate_hz if rate_hz > 0 else math.inf
    before = ts[0] if math.isnan(prev) else prev
    for i in range(n):
        step = ts[i] - before
        before = ts[i]
        if step > gap_s:
            gaps[n_gaps] = i
            n_gaps += 1
        elif step > small:
            lost += int(np.rint(step * rate_hz)) - 1
    rx, ry = (0, 1) if eye == 0 else (2, 3) if eye == 1 else (4, 5)
    invalid, n_valid, n_far, sx, sy = 0, 0, 0, 0.0, 0.0
    lo_x, hi_x, lo_y, hi_y = -margin * qw, (1 + margin) * qw, -margin * qh, (1 + margin) * qh
    for i in range(n):
        x, y = out[rx, i], out[ry, i]
        if math.isnan(x) or math.isnan(y):
            invalid += 1
        if math.isfinite(x) and math.isfinite(y):
            n_valid += 1
            if x < lo_x or x > hi_x or y < lo_y or y > hi_y:
                n_far += 1
                sx += x
                sy += y
    return out, lost, gaps[:n_gaps], invalid, n_valid, n_far, sx, sy


def warm_up() -> None:
    """Load (or compile) :func:`map_chunk` for the argument types ``ChannelMap.apply`` passes, before the first chunk."""
    slots = np.array([0, 1, -1, -1, -1, -1, -1, -1, -1], dtype=np.int64)
    map_chunk(np.zeros((1, 2)), slots, False, False, 1920.0, 1080.0, 0.0, 1.0, np.zeros(0))
    ingest_chunk(np.zeros((1, 2)), np.zeros(1), math.nan, 1000.0, 0.25, slots, False, False, 1920.0, 1080.0, 0.0,
                 1.0, np.zeros(0), 2, 0.5, 1920.0, 1080.0)
