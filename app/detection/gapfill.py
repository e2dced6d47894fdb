"""Gap fill-in: short runs of missing samples are interpolated before detection.

Tobii Pro's I-VT filter (Olsen 2012, "The Tobii I-VT fixation filter", section "Gap fill-in")
interpolates linearly across short losses so that one dropped sample does not split a fixation
(here a missing sample would also void the velocity of the ``2k`` samples around it). Only runs
of at most ``max_samples`` missing samples with a valid sample on both sides are filled; longer
runs (blinks, real track loss) and runs at the very start or end stay missing. The default span,
20 ms, is shorter than Tobii's 75 ms so that the core of a blink (30 ms and more in the
expert-coded data) is never papered over.

:func:`fill_gaps` works on whole arrays; :class:`GapFiller` on a stream, holding back at most
``max_samples`` samples, and computes every filled value with the same expression, so both give
identical samples.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.detection.speed import ingest

F64 = NDArray[np.float64]


def max_fill_samples(rate_hz: float, gap_fill_s: float) -> int:
    """Longest run of missing samples that is filled (0 turns gap fill-in off)."""
    if not (math.isfinite(gap_fill_s) and gap_fill_s >= 0):
        raise GazeDataError(f"gap fill-in: gap_fill_s must be a number >= 0, got {gap_fill_s!r}")
    return 0 if gap_fill_s == 0 else max(1, int(math.floor(gap_fill_s * rate_hz + 1e-9)))


def max_fill_span_s(rate_hz: float, gap_fill_s: float) -> float:
    """Longest time between the valid samples around a filled run: the run plus one sample interval."""
    return (max_fill_samples(rate_hz, gap_fill_s) + 1) / rate_hz * (1 + 1e-6)


def fill_gaps(t: F64, x: F64, y: F64, max_samples: int, max_span_s: float = math.inf) -> tuple[F64, F64]:
    """Copies of x and y with short interior runs of missing samples interpolated linearly in time.

    A run is filled when it holds at most ``max_samples`` samples and the valid samples around it are
    at most ``max_span_s`` apart (with uneven rates the count alone says little about time).
    """
    c = np.ascontiguousarray
    if max_samples <= 0 or len(t) < 3:
        return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    fx, fy, _ = ingest(c(t, dtype=np.float64), c(x, dtype=np.float64), c(y, dtype=np.float64), int(max_samples),
                       float(max_span_s), 0.0, math.inf, math.inf)  # the offline pass's fill-in (its checks unused)
    return fx, fy


class GapFiller:
    """Streaming :func:`fill_gaps`: returns the samples whose fate is decided, in order."""

    def __init__(self, max_samples: int, max_span_s: float = math.inf) -> None:
        self.max_samples = max_samples
        self.max_span_s = max_span_s
        self.last: tuple[float, float, float] | None = None  # last sample passed on, if it was valid
        self.held: list[tuple[float, float, float]] = []  # missing samples after it, not yet decided

    def push(self, t: F64, x: F64, y: F64) -> tuple[F64, F64, F64]:
        lost = ~(np.isfinite(x) & np.isfinite(y))
        if self.max_samples <= 0 or (not self.held and not lost.any()):
            if len(t):
                self.last = (float(t[-1]), float(x[-1]), float(y[-1])) if not lost[-1] else None
            return t, x, y
        head = ([self.last] if self.last is not None else []) + self.held
        tt = np.concatenate(([h[0] for h in head], t))
        xx = np.concatenate(([h[1] for h in head], x))
        yy = np.concatenate(([h[2] for h in head], y))
        lost_all = ~(np.isfinite(xx) & np.isfinite(yy))
        self.held = []
        good = np.flatnonzero(~lost_all)
        tail = len(tt) - (int(good[-1]) + 1) if len(good) else len(tt)
        if len(good) and 0 < tail <= self.max_samples:  # may still be closed by a valid sample
            cut = len(tt) - tail
            self.held = list(zip(tt[cut:].tolist(), xx[cut:].tolist(), yy[cut:].tolist(), strict=True))
            tt, xx, yy = tt[:cut], xx[:cut], yy[:cut]
        fx, fy = fill_gaps(tt, xx, yy, self.max_samples, self.max_span_s)
        skip = 1 if self.last is not None else 0  # the previous sample was passed on already
        tt, fx, fy = tt[skip:], fx[skip:], fy[skip:]
        if len(tt):
            ok_last = bool(np.isfinite(fx[-1]) and np.isfinite(fy[-1]))
            self.last = (float(tt[-1]), float(fx[-1]), float(fy[-1])) if ok_last else None
        return tt, fx, fy

    def finish(self) -> tuple[F64, F64, F64]:
        """The held missing run cannot be closed any more: it stays missing."""
        held, self.held = self.held, []
        cols = [np.asarray([h[i] for h in held], dtype=np.float64) for i in range(3)]
        return cols[0], cols[1], cols[2]
