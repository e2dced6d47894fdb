"""The compiled inner loops of the detectors (numba), one implementation for offline and online use.

Each kernel is a plain loop over arrays that numba compiles once (``cache=True`` keeps the machine
code in ``__pycache__``, so later processes load it instead of compiling). Offline detection calls
a kernel once over the whole recording; the online detectors call the same kernel on the part of the
stream that is still undecided, so both compute every value with the same operations in the same
order (tests compare them for exact equality).

- :func:`median_thresholds`: the robust adaptive velocity thresholds of :mod:`app.detection.thresholds`
  from cumulative velocity histograms (one row per update);
- :func:`nh_scan`: saccade / PSO labelling of :mod:`app.detection.nh`, returning how far its labels
  are final;
- :func:`unit_histograms`, :func:`window_sums`: the per-second velocity histograms of the thresholds.

The per-sample passes from pixels to speed are in :mod:`app.detection.speed`, the post-processing in
:mod:`app.detection.assembly`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

# per-sample codes shared with app.detection.segments (numba needs them as module constants)
FIX, SACC, PSO, LOSS = 1, 2, 3, 9


@numba.njit(cache=True, nogil=True)
def median_thresholds(cum: NDArray[np.int64], width: float, peak_factor: float, onset_factor: float,
                      floor: float, onset_floor: float, ceiling: float, fallback: float,
                      min_count: int, iterations: int) -> tuple[F64, F64]:
    """Peak and onset thresholds for each row of cumulative velocity histograms.

    ``cum[r, b]`` counts the samples of update ``r`` slower than ``(b + 1) * width``; the last column
    holds every sample. The peak threshold is iterated from the ceiling: ``PT = peak_factor * median``
    of the samples slower than the current ``PT``, held between ``floor`` and ``ceiling``, for exactly
    ``iterations`` steps (a fixed count keeps every caller's result identical); the onset threshold is
    ``onset_factor * median`` (at least ``onset_floor``, at most PT). Rows with fewer than ``min_count``
    samples get ``fallback`` as PT.
    """
    rows, nb = cum.shape
    nbins = nb - 1  # the last column is the overflow
    pt_out = np.empty(rows)
    on_out = np.empty(rows)
    for r in range(rows):
        pt = ceiling
        med = fallback * onset_factor / peak_factor
        ok = False
        for _ in range(iterations):
            b = int(pt / width)  # bins [0, b) lie wholly below pt
            if b > nbins:
                b = nbins
            count = cum[r, b - 1] if b > 0 else 0
            if count < min_count:
                break
            ok = True
            half = (count + 1) // 2
            lo, hi = 0, b - 1  # first bin whose cumulative count reaches half
            while lo < hi:
                mid = (lo + hi) // 2
                if cum[r, mid] >= half:
                    hi = mid
                else:
                    lo = mid + 1
            med = (lo + 0.5) * width
            pt = min(max(peak_factor * med, floor), ceiling)
        if not ok:
            pt = min(max(fallback, floor), ceiling)
            med = pt / peak_factor
        pt_out[r] = pt
        on_out[r] = min(max(onset_factor * med, onset_floor), pt)
    return pt_out, on_out


@numba.njit(cache=True, nogil=True)
def _walk_forward(v: F64, ok: NDArray[np.bool_], i: int, thr: float) -> int:
    """From ``i`` move on while the next sample is valid and not below ``thr``; the last such sample."""
    n = len(v)
    while i < n - 1 and ok[i + 1] and v[i + 1] >= thr:
        i += 1
    return i


@numba.njit(cache=True, nogil=True)
def nh_scan(v: F64, ok: NDArray[np.bool_], pt: F64, onset: F64, start: int, w_noise: int, w_pso: int,
            min_sacc: int, pso: bool, final: bool, codes: NDArray[np.int8]) -> int:
    """Label samples ``[start, n)`` (FIX/SACC/PSO/LOSS into ``codes``); returns ``c``: ``codes[start:c]`` are final.

    Samples before ``start`` are history (their velocities feed the local noise window only) and
    no saccade may begin before ``start``. A run above the peak threshold ``pt`` is a saccade: it
    starts after the nearest earlier sample below its own onset threshold (or invalid); it ends where
    velocity falls below ``pt`` (with PSO detection) or below the offset threshold ``0.7 onset +
    0.3 (local mean + 3 SD)`` over the ``w_noise`` samples before the onset. A PSO is what stays or
    comes back above the offset threshold within ``w_pso`` samples after the saccade. Unless
    ``final``, a saccade, PSO or window that reaches the end of the samples is left undecided and
    the samples from the last sample that no later saccade can reach are returned as not final.
    """
    n = len(v)
    for i in range(start, n):
        codes[i] = FIX if ok[i] else LOSS
    last_end = start  # no saccade or PSO may start before this
    commit = start
    i = start
    while i < n:
        if not (ok[i] and v[i] > pt[i]):
            if i >= last_end and (not ok[i] or v[i] < onset[i]):
                commit = i  # a later saccade's onset cannot reach back past this sample
            i += 1
            continue
        a = i
        b = a
        while b < n and ok[b] and v[b] > pt[b]:
            b += 1
        if b == n and not final:
            return commit
        if a < last_end:  # inside the previous saccade's PSO
            i = b
            continue
        on = a
        while on > last_end and ok[on - 1] and v[on - 1] >= onset[on - 1]:
            on -= 1
        thr_on = onset[a]
        s = 0.0
        ss = 0.0
        m = 0
        for j in range(max(on - w_noise, 0), on):
            if not math.isnan(v[j]):
                s += v[j]
                ss += v[j] * v[j]
                m += 1
        local = thr_on
        if m >= 2:
            mean = s / m
            local = mean + 3.0 * math.sqrt(max(ss / m - mean * mean, 0.0))
        off_thr = 0.7 * thr_on + 0.3 * local
        off = _walk_forward(v, ok, b - 1, pt[a] if pso else off_thr)
        tail = _walk_forward(v, ok, b - 1, off_thr)  # where the movement, PSO included, has slowed down
        if tail == n - 1 and not final:
            return commit
        if tail - on + 1 < min_sacc:
            i = b
            continue
        for j in range(on, off + 1):
            codes[j] = SACC
        last_end = off + 1
        if pso:
            w_end = off + 1 + w_pso
            if w_end > n:
                if not final:
                    return commit
                w_end = n
            rise = -1
            for j in range(off + 1, w_end):
                if not ok[j]:
                    break
                if v[j] > off_thr:
                    rise = j
            if rise >= 0:
                end = _walk_forward(v, ok, rise, off_thr)
                if end == n - 1 and not final:
                    return commit
                for j in range(off + 1, end + 1):
                    codes[j] = PSO
                last_end = end + 1
        i = b
    return n if final else commit


@numba.njit(cache=True, nogil=True)
def unit_histograms(t: F64, v: F64, ok: NDArray[np.bool_], t0: float, update_s: float, width: float,
                    nbins: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Update index of each sample (``floor((t - t0) / update_s)``) and, per update from the first one
    here, the histogram of valid finite speeds in bins of ``width`` (the last column: at or above
    ``nbins * width``)."""
    n = len(t)
    units = np.empty(n, dtype=np.int64)
    for i in range(n):
        units[i] = int(math.floor((t[i] - t0) / update_s))
    if n == 0:
        return units, np.zeros((0, nbins + 1), dtype=np.int64)
    first = units[0]
    hist = np.zeros((units[n - 1] - first + 1, nbins + 1), dtype=np.int64)
    top = nbins * width
    for i in range(n):
        if ok[i] and not math.isnan(v[i]):
            b = nbins if v[i] >= top else min(int(v[i] / width), nbins - 1)
            hist[units[i] - first, b] += 1
    return units, hist


@numba.njit(cache=True, nogil=True)
def window_sums(stack: NDArray[np.int64], rows: NDArray[np.int64], window: int) -> NDArray[np.int64]:
    """Cumulative histograms of the ``window`` rows before each of ``rows`` (clipped at row 0), ready for
    :func:`median_thresholds`; exact integer sums, whatever order the rows arrived in."""
    m = len(rows)
    nb = stack.shape[1]
    out = np.zeros((m, nb), dtype=np.int64)
    for r in range(m):
        hi = rows[r]
        lo = max(hi - window, 0)
        for u in range(lo, hi):
            for b in range(nb):
                out[r, b] += stack[u, b]
        for b in range(1, nb):
            out[r, b] += out[r, b - 1]
    return out
