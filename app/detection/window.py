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
from collections import deque

import numpy as np
from numpy.typing import NDArray

from app.detection.kernels import range_noise
from app.detection.velocity import NOISE_FROM_S, adaptive_half_window

F64 = NDArray[np.float64]
UPDATE_S = 1.0
WINDOW_UPDATES = 10


class WindowSchedule:
    """Half window per sample: :meth:`push` the samples in order (after the warm-up's noise is known)."""

    def __init__(self, rate_hz: float, t0: float, warmup_noise_deg: float) -> None:
        self.rate_hz = rate_hz
        self.t0 = t0
        self.warmup_updates = int(round(NOISE_FROM_S / UPDATE_S))
        self.k_warm = adaptive_half_window(rate_hz, warmup_noise_deg)
        self.noise: deque[float] = deque(maxlen=WINDOW_UPDATES)  # noise of the last complete updates
        self.open = -1  # update whose samples are being collected
        self.open_x: list[F64] = []
        self.open_y: list[F64] = []
        self.k_open = self.k_warm
        self.k_max = max(self.k_warm, adaptive_half_window(rate_hz, math.inf))

    def _close(self, upto: int, noise: float) -> None:
        """The open update is complete (its noise ``noise``, NaN if it had no finite step), and so are
        those up to ``upto - 1`` (updates without samples leave no noise)."""
        if self.open >= 0 and math.isfinite(noise) and noise > 0:
            self.noise.append(noise)
        elif self.open >= 0:
            self.noise.append(math.nan)
        for _ in range(min(max(upto - self.open - 1, 0), WINDOW_UPDATES)):
            self.noise.append(math.nan)
        self.open, self.open_x, self.open_y = upto, [], []
        if upto < self.warmup_updates:
            self.k_open = self.k_warm
        else:
            known = sorted(n for n in self.noise if math.isfinite(n))
            if known:
                mid = len(known) // 2
                med = known[mid] if len(known) % 2 else 0.5 * (known[mid - 1] + known[mid])
                self.k_open = adaptive_half_window(self.rate_hz, med)
            else:
                self.k_open = self.k_warm

    def _open_noise(self) -> float:
        if not self.open_x:
            return math.nan
        x, y = np.concatenate(self.open_x), np.concatenate(self.open_y)
        return float(range_noise(x, y, np.zeros(1, np.int64), np.full(1, len(x), np.int64))[0])

    def push(self, t: F64, xd: F64, yd: F64) -> NDArray[np.int64]:
        ks = np.empty(len(t), dtype=np.int64)
        if len(t) == 0:
            return ks
        xd, yd = np.ascontiguousarray(xd, dtype=np.float64), np.ascontiguousarray(yd, dtype=np.float64)
        units = np.floor((t - self.t0) / UPDATE_S).astype(np.int64)
        cuts = np.flatnonzero(np.diff(units)) + 1
        for a, b in zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [len(t)])).tolist(), strict=True):
            u = int(units[a])
            if u != self.open:  # the open update is complete: its noise from all its samples
                self._close(u, self._open_noise())
            ks[a:b] = self.k_open
            self.open_x.append(xd[a:b])
            self.open_y.append(yd[a:b])
        return ks
