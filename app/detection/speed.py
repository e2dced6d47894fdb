"""The compiled per-sample passes of the velocity stage (numba), offline and online alike.

- :func:`ingest`: one pass that checks the time stamps and coordinates (and counts the sample intervals
  outside the given rate's tolerance) and copies x and y with the gap fill-in of
  :mod:`app.detection.gapfill`;
- :func:`smoothed_speed`: the least-squares slope differentiator of :mod:`app.detection.velocity` (positions
  in degrees), with window sums that slide one sample at a time (restarting every :data:`RESTART` samples of
  the stream, where the window changes and after missing windows), O(1) per sample instead of ``2k + 1``;
- :func:`unit_noise`: the per-second position noise that chooses the differentiator's window
  (:mod:`app.detection.window`);
- :func:`edges_and_ok`: the recording's first and last windows and the usable-sample mask.

Every value of a sample depends on the samples alone, never on how they were split into calls (the sliding
sums restart at fixed samples of the stream), so the online detector gets bit-identical speeds.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
RESTART = 64  # the differentiator's sliding window sums are summed afresh every RESTART samples
# ingest's report: first non-finite time + 1, first non-increasing interval + 1, first far coordinate + 1,
# intervals below / above the rate's tolerance
S_TIME, S_ORDER, S_COORD, S_BELOW, S_ABOVE = 0, 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def ingest(t: F64, x: F64, y: F64, max_fill: int, max_span_s: float, dt_lo: float, dt_hi: float,
           max_coord: float) -> tuple[F64, F64, NDArray[np.int64]]:
    """Copies of x and y with short interior runs of missing samples filled, and the report
    (``S_*``) of what the checks of :mod:`app.detection.velocity` would refuse."""
    n = len(t)
    xo = np.empty(n)
    yo = np.empty(n)
    rep = np.zeros(5, dtype=np.int64)
    gap_from = -1  # first missing sample of the run in progress
    for i in range(n):
        ti, xi, yi = t[i], x[i], y[i]
        xo[i] = xi
        yo[i] = yi
        if not math.isfinite(ti) and rep[S_TIME] == 0:
            rep[S_TIME] = i + 1
        if i > 0:
            d = ti - t[i - 1]
            if not d > 0 and rep[S_ORDER] == 0:
                rep[S_ORDER] = i
            if d < dt_lo:
                rep[S_BELOW] += 1
            elif d > dt_hi:
                rep[S_ABOVE] += 1
        if (abs(xi) > max_coord or abs(yi) > max_coord) and rep[S_COORD] == 0:
            rep[S_COORD] = i + 1
        if not (math.isfinite(xi) and math.isfinite(yi)):
            if gap_from < 0:
                gap_from = i
            continue
        if gap_from > 0 and i - gap_from <= max_fill:  # an interior run [gap_from, i) closed by sample i
            ta, tb = t[gap_from - 1], ti
            if tb - ta <= max_span_s:
                xa, xb, ya, yb = xo[gap_from - 1], xi, yo[gap_from - 1], yi
                for j in range(gap_from, i):
                    f = (t[j] - ta) / (tb - ta)
                    xo[j] = xa + (xb - xa) * f
                    yo[j] = ya + (yb - ya) * f
        gap_from = -1
    return xo, yo, rep


@numba.njit(cache=True, nogil=True)
def _valid(ks: NDArray[np.int64], i: int, n: int, g0: int) -> bool:
    """Sample ``i`` has a whole window: a half window of at least 1 inside the stream and the arrays (the test is
    written out again in :func:`speed_px`'s loop)."""
    k = ks[i]
    return k >= 1 and i + g0 - k >= 0 and i - k >= 0 and i + k < n


@numba.njit(cache=True, nogil=True, error_model="numpy")
def smoothed_speed(t: F64, x: F64, y: F64, ks: NDArray[np.int64], lo: int, hi: int, max_gap_s: float,
                   g0: int) -> F64:
    """Angular speed (deg/s) of the samples ``[lo, hi)`` (positions ``x``, ``y`` in degrees), each over its own
    half window ``ks[i]``: the least-squares slope of x and y against the samples' own times. NaN where the window runs off the stream or the
    arrays, holds a NaN, or spans an interval longer than ``max_gap_s``.

    The window sums slide (one sample in, one out) from a restart (every :data:`RESTART` samples of the
    stream, counted from its first sample, whose index in the arrays is ``-g0``; where the half window
    changes; after a sample without a window), with times and positions relative to the restart sample, so every value depends on the
    samples alone, never on where a call begins: a call that begins after a restart first slides from it
    (the arrays must reach back :data:`RESTART` + ``k`` samples before ``lo``, as the online detector's do).
    """
    n = len(t)
    out = np.full(hi - lo, np.nan)
    if lo >= hi:
        return out
    start = lo
    while (start > 0 and _valid(ks, start, n, g0) and _valid(ks, start - 1, n, g0) and ks[start - 1] == ks[start]
           and ((start + g0) & (RESTART - 1)) != 0):
        start -= 1  # back to the restart of lo's sums
    st = sx = sy = stt = stx = sty = 0.0
    bad = 0  # NaN positions and long intervals in the window
    tr = xr = yr = 0.0
    prev_ok = start > 0 and _valid(ks, start - 1, n, g0)
    kprev = ks[start - 1] if start > 0 else 0
    for i in range(start, hi):
        k = ks[i]
        if not (k >= 1 and i + g0 - k >= 0 and i - k >= 0 and i + k < n):
            prev_ok = False
            continue
        if not prev_ok or k != kprev or ((i + g0) & (RESTART - 1)) == 0 or i == 0:  # _restart
            prev_ok = True
            kprev = k
            tr = t[i]
            xr = x[i] if math.isfinite(x[i]) else 0.0
            yr = y[i] if math.isfinite(y[i]) else 0.0
            st = sx = sy = stt = stx = sty = 0.0
            bad = 0
            for j in range(i - k, i + k + 1):
                dt = t[j] - tr
                st += dt
                stt += dt * dt
                if math.isfinite(x[j]) and math.isfinite(y[j]):
                    dx, dy = x[j] - xr, y[j] - yr
                    sx += dx
                    sy += dy
                    stx += dt * dx
                    sty += dt * dy
                else:
                    bad += 1
                if j < i + k and t[j + 1] - t[j] > max_gap_s:
                    bad += 1
        else:  # slide: sample i + k comes in, i - k - 1 goes out (with their intervals)
            j, o = i + k, i - k - 1
            dt, do = t[j] - tr, t[o] - tr
            st += dt - do
            stt += dt * dt - do * do
            if math.isfinite(x[j]) and math.isfinite(y[j]):
                dx, dy = x[j] - xr, y[j] - yr
                sx += dx
                sy += dy
                stx += dt * dx
                sty += dt * dy
            else:
                bad += 1
            if math.isfinite(x[o]) and math.isfinite(y[o]):
                dx, dy = x[o] - xr, y[o] - yr
                sx -= dx
                sy -= dy
                stx -= do * dx
                sty -= do * dy
            else:
                bad -= 1
            if t[j] - t[j - 1] > max_gap_s:
                bad += 1
            if t[o + 1] - t[o] > max_gap_s:
                bad -= 1
        if i < lo or bad > 0:
            continue
        w = 2 * k + 1
        den = w * stt - st * st
        a = w * stx - st * sx  # the slopes times den
        b = w * sty - st * sy
        out[i - lo] = math.sqrt(a * a + b * b) / abs(den)
    return out


@numba.njit(cache=True, nogil=True)
def unit_noise(x: F64, y: F64, a: int, b: int) -> float:
    """Per-axis white-noise SD (deg) of the samples ``[a, b)`` (degrees): the median absolute sample-to-sample
    step of x and y together over ``sqrt(2) * 0.6745``; NaN without a finite step. At most about 256 steps per
    axis are used (every ``(b - a) // 256``-th, from ``a``): plenty to choose a filter window, and a fixed cost
    per second of data at any rate."""
    stride = max(1, (b - a) // 256)
    steps = np.empty(2 * (max(b - a - 1, 0) // stride + 1))
    m = 0
    for i in range(a + 1, b, stride):
        dx = abs(x[i] - x[i - 1])
        dy = abs(y[i] - y[i - 1])
        if not math.isnan(dx):
            steps[m] = dx
            m += 1
        if not math.isnan(dy):
            steps[m] = dy
            m += 1
    if m == 0:
        return math.nan
    return median_inplace(steps, m) / (0.6745 * math.sqrt(2.0))


@numba.njit(cache=True, nogil=True)
def median_inplace(a: F64, m: int) -> float:
    """``np.median(a[:m])`` of values without NaN (reorders ``a[:m]``): quickselect with Hoare's partition
    around a median of three, then the largest value below the middle for an even count."""
    h = m // 2
    lo, hi = 0, m - 1
    while lo < hi:
        mid = (lo + hi) // 2
        p1, p2, p3 = a[lo], a[mid], a[hi]
        pivot = max(min(p1, p2), min(max(p1, p2), p3))
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if h <= j:
            hi = j
        elif h >= i:
            lo = i
        else:
            break
    upper = a[h]
    if m % 2:
        return upper
    lower = a[0]
    for r in range(1, h):
        lower = max(lower, a[r])
    return 0.5 * (lower + upper)


@numba.njit(cache=True, nogil=True)
def edges_and_ok(v: F64, x: F64, y: F64, ks: NDArray[np.int64]) -> tuple[NDArray[np.bool_], int]:
    """In place :func:`app.detection.velocity.fill_edges` (the first ``ks[0]`` and last ``ks[-1]`` samples take the
    speed of the nearest full window); returns the usable-sample mask (finite speed and position) and the widest
    half window."""
    n = len(v)
    k0 = ks[0] if n else 0
    k1 = ks[n - 1] if n else 0
    if n > k0 + k1:
        for i in range(k0):
            v[i] = v[k0]
        for i in range(n - k1, n):
            v[i] = v[n - k1 - 1]
    ok = np.empty(n, dtype=np.bool_)
    k_max = 0
    for i in range(n):
        ok[i] = math.isfinite(v[i]) and math.isfinite(x[i]) and math.isfinite(y[i])
        k_max = max(k_max, ks[i])
    return ok, k_max


@numba.njit(cache=True, nogil=True)
def chunk_check(t: F64, x: F64, y: F64, last_t: float, max_coord: float) -> tuple[bool, bool]:
    """A live chunk: are its times finite and strictly increasing (from ``last_t``), and does it hold a
    coordinate further than ``max_coord`` from the origin (infinite included)?"""
    ordered = True
    prev = last_t
    far = False
    for i in range(len(t)):
        if not (math.isfinite(t[i]) and t[i] > prev):
            ordered = False
        prev = t[i]
        if abs(x[i]) > max_coord or abs(y[i]) > max_coord:
            far = True
    return ordered, far
