"""The differentiator's window, following the position noise as the stream goes (offline and online alike).

A noisy tracker needs a wider velocity window than a clean one (:func:`adaptive_half_window`: the
shortest window from 10 ms up to 40 ms whose velocity noise is at most 15 deg/s). The noise is the
white-noise SD from the median sample-to-sample step (:func:`noise_sd_deg`), measured per second of
data. The first 2 s (the warm-up the live detector waits for anyway) take the window of their own noise;
every later second takes the window of the median noise of the 10 s before it, so a recording whose noise
changes midway (a participant who moves) gets a wider window within seconds. Past samples only: the
live detector knows each sample's window when the sample arrives, as offline detection does.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from app.detection.speed import unit_noise
from app.detection.velocity import NOISE_FROM_S, adaptive_half_window, half_window

F64 = NDArray[np.float64]
UPDATE_S = 1.0
WINDOW_UPDATES = 10
TARGET_DEG_S = 15.0  # adaptive_half_window's default
# the schedule's state (a float64 array): open update (-1 before the first sample), samples buffered for it,
# its half window, noise values known, then the last WINDOW_UPDATES noise values, oldest first
W_OPEN, W_NB, W_K, W_COUNT, W_RING = 0, 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def _adaptive(rate_hz: float, noise: float, k_min: int, k_max: int) -> int:
    """:func:`app.detection.velocity.adaptive_half_window` for the window from 10 to 40 ms."""
    k = k_min
    dt = 1.0 / rate_hz
    while k < k_max and noise / (dt * math.sqrt(k * (k + 1) * (2 * k + 1) / 3)) > TARGET_DEG_S:
        k += 1
    return k


@numba.njit(cache=True, nogil=True)
def _append(st: F64, value: float) -> None:
    c = int(st[W_COUNT])
    if c == WINDOW_UPDATES:
        for r in range(WINDOW_UPDATES - 1):
            st[W_RING + r] = st[W_RING + r + 1]
        c -= 1
    st[W_RING + c] = value
    st[W_COUNT] = c + 1


@numba.njit(cache=True, nogil=True)
def _close(st: F64, noise: float, u: int, rate_hz: float, k_min: int, k_max: int, k_warm: int,
           warm_updates: int) -> int:
    """The open update is complete (its noise ``noise``); update ``u`` opens. Returns its half window."""
    open_u = st[W_OPEN]
    if open_u >= 0:
        _append(st, noise if math.isfinite(noise) and noise > 0 else math.nan)
    for _ in range(min(max(int(u - open_u) - 1, 0), WINDOW_UPDATES)):  # updates without samples
        _append(st, math.nan)
    st[W_OPEN] = u
    k = k_warm
    if u >= warm_updates:
        known = np.empty(WINDOW_UPDATES)
        m = 0
        for r in range(int(st[W_COUNT])):
            if math.isfinite(st[W_RING + r]):
                known[m] = st[W_RING + r]
                m += 1
        if m:
            known = np.sort(known[:m])
            mid = m // 2
            med = known[mid] if m % 2 else 0.5 * (known[mid - 1] + known[mid])
            k = _adaptive(rate_hz, med, k_min, k_max)
    st[W_K] = k
    return k


@numba.njit(cache=True, nogil=True)
def schedule_push(t: F64, x: F64, y: F64, t0: float, st: F64, bx: F64, by: F64, rate_hz: float,
                  k_min: int, k_max: int, k_warm: int, warm_updates: int, ks: NDArray[np.int64]) -> None:
    """Half window ``ks[i]`` of each new sample; ``st`` and the open update's earlier samples ``bx``/``by`` (the
    first ``st[W_NB]``; room for all of this call's too, see :meth:`WindowSchedule.push`) carry over to the next
    call. An update's noise is that of all its samples, in order, whichever calls brought them."""
    n = len(t)
    nb = int(st[W_NB])
    open_u = st[W_OPEN]
    k_open = int(st[W_K])
    here = 0  # where the open update's samples in this call begin
    # below this time a sample surely lies in the open update (the times increase; the margin covers rounding)
    early = t0 + (open_u + 1) * UPDATE_S * (1 - 1e-12) - 1e-9 * (1 + abs(t0)) if open_u >= 0 else -math.inf
    for i in range(n):
        if t[i] < early:
            ks[i] = k_open
            continue
        u = math.floor((t[i] - t0) / UPDATE_S)
        if u != open_u:  # the open update is complete: its noise from all its samples
            if nb == 0:
                noise = unit_noise(x, y, here, i) if i > here else math.nan
            else:  # it began in an earlier call
                bx[nb:nb + i - here] = x[here:i]
                by[nb:nb + i - here] = y[here:i]
                noise = unit_noise(bx, by, 0, nb + i - here)
                nb = 0
            k_open = _close(st, noise, u, rate_hz, k_min, k_max, k_warm, warm_updates)
            open_u = u
            here = i
            early = t0 + (open_u + 1) * UPDATE_S * (1 - 1e-12) - 1e-9 * (1 + abs(t0))
        ks[i] = k_open
    bx[nb:nb + n - here] = x[here:n]  # the open update's samples wait for the next call
    by[nb:nb + n - here] = y[here:n]
    st[W_NB] = nb + n - here


class WindowSchedule:
    """Half window per sample: :meth:`push` the samples (degrees) in order, after the warm-up's noise is known."""

    def __init__(self, rate_hz: float, t0: float, warmup_noise_deg: float) -> None:
        self.rate_hz = rate_hz
        self.t0 = t0
        self.warmup_updates = int(round(NOISE_FROM_S / UPDATE_S))
        self.k_warm = adaptive_half_window(rate_hz, warmup_noise_deg)
        self.k_min = half_window(rate_hz, 0.01)
        self._k_top = adaptive_half_window(rate_hz, math.inf)  # the widest window the noise can ask for
        self.k_max = max(self.k_warm, self._k_top)
        self._st = np.zeros(W_RING + WINDOW_UPDATES)
        self._st[W_OPEN] = -1.0
        self._st[W_K] = self.k_warm
        cap = int(2 * rate_hz * UPDATE_S) + 16
        self._bx, self._by = np.empty(cap), np.empty(cap)

    def push(self, t: F64, x: F64, y: F64) -> NDArray[np.int64]:
        c = np.ascontiguousarray
        t, x, y = c(t, dtype=np.float64), c(x, dtype=np.float64), c(y, dtype=np.float64)
        nb = int(self._st[W_NB])
        if nb + len(t) > len(self._bx):  # room for the open update's samples and all of this call's
            bx, by = np.empty(nb + len(t)), np.empty(nb + len(t))
            bx[:nb], by[:nb] = self._bx[:nb], self._by[:nb]
            self._bx, self._by = bx, by
        ks = np.empty(len(t), dtype=np.int64)
        schedule_push(t, x, y, self.t0, self._st, self._bx, self._by, self.rate_hz, self.k_min, self._k_top,
                      self.k_warm, self.warmup_updates, ks)
        return ks
