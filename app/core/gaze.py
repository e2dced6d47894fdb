"""Gaze samples as arrays, and the preallocated ring buffer that acquisition fills.

Shape of the data everywhere inside POV Lab: a :class:`GazeBlock`, one float64 array per
column, time in LSL clock seconds, positions in screen pixels (top-left origin), NaN where
the tracker lost the eye.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class GazeBlock:
    t: F64  # LSL clock seconds, increasing
    x: F64  # screen px (the eye chosen by the channel map, or the mean of both)
    y: F64
    pupil: F64  # diameter in the tracker's unit, NaN when absent

    def __post_init__(self) -> None:
        n = len(self.t)
        if not (len(self.x) == len(self.y) == len(self.pupil) == n):
            raise GazeDataError("gaze block: t, x, y and pupil must have the same length")

    def __len__(self) -> int:
        return len(self.t)

    @property
    def valid(self) -> NDArray[np.bool_]:
        return np.isfinite(self.x) & np.isfinite(self.y)

    @classmethod
    def empty(cls) -> GazeBlock:
        e = np.empty(0)
        return cls(e, e.copy(), e.copy(), e.copy())

    @classmethod
    def from_arrays(cls, t: object, x: object, y: object, pupil: object | None = None) -> GazeBlock:
        tt = np.asarray(t, dtype=np.float64)
        xx = np.asarray(x, dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        pp = np.full_like(tt, np.nan) if pupil is None else np.asarray(pupil, dtype=np.float64)
        return cls(tt, xx, yy, pp)

    def between(self, t0: float, t1: float) -> GazeBlock:
        """Samples with ``t0 <= t < t1`` (time sorted)."""
        i0, i1 = np.searchsorted(self.t, [t0, t1], side="left")
        return GazeBlock(self.t[i0:i1], self.x[i0:i1], self.y[i0:i1], self.pupil[i0:i1])


class GazeRingBuffer:
    """A fixed-size buffer sized in seconds; the writer never allocates, readers get copies.

    One writer (the acquisition worker) calls :meth:`extend`; any thread may call
    :meth:`snapshot` or :meth:`since` and gets a consistent copy taken under the lock.
    A reader can block in :meth:`wait_for_new` until the writer has added samples (the live
    pipeline wakes as soon as a chunk lands instead of polling).
    """

    def __init__(self, seconds: float, rate_hz: float) -> None:
        if not (seconds > 0 and rate_hz > 0):
            raise GazeDataError("ring buffer: seconds and rate must be positive")
        self.capacity = int(np.ceil(seconds * rate_hz)) + 1
        self._data = np.full((4, self.capacity), np.nan)
        self._lock = threading.Lock()
        self._written = threading.Condition(self._lock)  # notified by every extend
        self._total = 0  # samples ever written
        self._wakes = 0  # calls of wake()

    @property
    def total_written(self) -> int:
        return self._total

    def extend(self, t: F64, x: F64, y: F64, pupil: F64 | None = None) -> None:
        n = len(t)
        if n == 0:
            return
        cols = [t, x, y, pupil if pupil is not None else np.full(n, np.nan)]
        with self._lock:
            if n >= self.capacity:
                cols = [c[-self.capacity:] for c in cols]
                skipped = n - self.capacity
                n = self.capacity
            else:
                skipped = 0
            start = (self._total + skipped) % self.capacity
            first = min(n, self.capacity - start)
            for row, c in enumerate(cols):
                self._data[row, start:start + first] = c[:first]
                if first < n:
                    self._data[row, :n - first] = c[first:]
            self._total += n + skipped
            self._written.notify_all()

    def wait_for_new(self, total_index: int, timeout: float) -> bool:
        """Block until samples after the reader's ``total_index`` exist (True), or until ``timeout`` s passed
        or :meth:`wake` was called (False unless samples arrived meanwhile)."""
        with self._written:
            wakes = self._wakes
            self._written.wait_for(lambda: self._total > total_index or self._wakes != wakes, timeout)
            return self._total > total_index

    def wake(self) -> None:
        """Wake every reader blocked in :meth:`wait_for_new` (e.g. so that it sees a stop request)."""
        with self._written:
            self._wakes += 1
            self._written.notify_all()

    def _block(self, count: int) -> GazeBlock:
        count = min(count, self._total, self.capacity)
        end = self._total % self.capacity
        idx = (np.arange(end - count, end)) % self.capacity
        d = self._data[:, idx]
        return GazeBlock(d[0].copy(), d[1].copy(), d[2].copy(), d[3].copy())

    def snapshot(self, last_s: float | None = None) -> GazeBlock:
        """The newest samples (all that the buffer holds, or those of the last ``last_s`` seconds)."""
        with self._lock:
            block = self._block(self.capacity)
        if last_s is not None and len(block):
            return block.between(block.t[-1] - last_s, np.inf)
        return block

    def since(self, total_index: int) -> tuple[GazeBlock, int]:
        """Samples written after the reader's ``total_index``; returns them and the new index.

        A reader that fell more than the capacity behind gets only what the buffer still holds.
        """
        with self._lock:
            count = self._total - total_index
            block = self._block(count) if count > 0 else GazeBlock.empty()
            return block, self._total
