"""Adaptive velocity thresholds from the recording's own noise, estimated causally as the stream goes.

Nystrom & Holmqvist 2010 set the peak threshold at ``mean + 6 SD`` of the velocities below it,
iterated from 100 deg/s. On data with many saccade samples of medium speed (small saccades at
300 Hz, the decelerating flanks of saccades) the mean and SD of "velocities below PT" are dragged
up by saccade samples, PT rises, more saccade samples fall below it, and the iteration runs away:
on the adult Tobii recordings of Hooge et al. 2018 it ended at 130-420 deg/s and missed most
saccades (docs/detection.md). Here the same rule is written with the median, which saccade samples
barely move: for fixation noise whose speed is Rayleigh distributed (white noise on x and y) the
mean is ``1.2533 s``, the SD ``0.6551 s`` and the median ``1.1774 s``, so NH's ``mean + 6 SD`` is
``4.40 x median`` and its onset threshold ``mean + 3 SD`` is ``2.73 x median``. PT is iterated as
``4.40 x median`` of the samples slower than PT, from the ceiling down.

Floors (40 / 20 deg/s, NH's) keep very clean data from turning drift into saccades; the ceiling
(300 deg/s) keeps very noisy data from losing every saccade. The median is read from velocity
histograms (bins of 0.25 deg/s), so it is an exact integer computation that any chunking of the
stream reproduces.

Schedule (the same offline and online, so live events equal offline ones): time is cut into
updates of ``update_s`` (1 s) from the first sample. The first ``warmup_s`` (2 s) take thresholds
from themselves (the online detector holds them back until then); every later update takes them
from the ``window_s`` (10 s) before it: past samples only, so the online detector labels at once.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.detection.kernels import median_thresholds, unit_histograms, window_sums

F64 = NDArray[np.float64]
RAYLEIGH_MEDIAN = math.sqrt(2 * math.log(2))  # median / scale of a Rayleigh distribution
RAYLEIGH_MEAN = math.sqrt(math.pi / 2)
RAYLEIGH_SD = math.sqrt(2 - math.pi / 2)


@dataclass(frozen=True)
class ThresholdParams:
    peak_sd: float = 6.0  # NH: PT = mean + 6 SD of the noise speed
    onset_sd: float = 3.0  # NH: onset = mean + 3 SD
    min_peak_deg_s: float = 40.0
    min_onset_deg_s: float = 20.0
    max_peak_deg_s: float = 300.0
    initial_peak_deg_s: float = 100.0  # where there are too few samples to estimate the noise
    update_s: float = 1.0
    window_s: float = 10.0
    warmup_s: float = 2.0
    bin_deg_s: float = 0.25

    def __post_init__(self) -> None:
        for name, v in asdict(self).items():
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
                raise GazeDataError(f"thresholds: {name} must be a positive number, got {v!r}")
        if self.onset_sd > self.peak_sd or self.min_onset_deg_s > self.min_peak_deg_s:
            raise GazeDataError("thresholds: the onset threshold must not be above the peak threshold")
        if self.max_peak_deg_s < self.min_peak_deg_s:
            raise GazeDataError("thresholds: max_peak_deg_s must not be below min_peak_deg_s")

    @property
    def peak_factor(self) -> float:
        """PT as a multiple of the median noise speed."""
        return (RAYLEIGH_MEAN + self.peak_sd * RAYLEIGH_SD) / RAYLEIGH_MEDIAN

    @property
    def onset_factor(self) -> float:
        return (RAYLEIGH_MEAN + self.onset_sd * RAYLEIGH_SD) / RAYLEIGH_MEDIAN

    @property
    def bins(self) -> int:
        return int(math.ceil(self.max_peak_deg_s / self.bin_deg_s))

    @property
    def window_updates(self) -> int:
        return max(1, int(round(self.window_s / self.update_s)))

    @property
    def warmup_updates(self) -> int:
        return max(1, int(round(self.warmup_s / self.update_s)))


def _thresholds(p: ThresholdParams, hist: NDArray[np.int64]) -> tuple[F64, F64]:
    """Thresholds for each row of (non-cumulative) histograms."""
    return _cum_thresholds(p, np.cumsum(hist, axis=1))


def _cum_thresholds(p: ThresholdParams, cum: NDArray[np.int64]) -> tuple[F64, F64]:
    """Thresholds for each row of cumulative histograms; the same call offline and online."""
    return median_thresholds(cum, p.bin_deg_s, p.peak_factor, p.onset_factor, p.min_peak_deg_s,
                             p.min_onset_deg_s, p.max_peak_deg_s, p.initial_peak_deg_s, 10, 32)


def new_units(old_top: int, top: int, warmup: int) -> bool:
    """Whether moving the last open update from ``old_top`` to ``top`` fixes any thresholds."""
    return top > old_top and top >= warmup


class ThresholdSchedule:
    """Per-sample peak and onset thresholds for a stream of velocities (see the module docstring).

    :meth:`push` takes the next samples and returns the thresholds of the samples, from the oldest
    not yet served, whose thresholds are now known; :meth:`finish` those of the rest.
    """

    def __init__(self, params: ThresholdParams) -> None:
        self.p = params
        self.t0: float | None = None
        self.hist: deque[NDArray[np.int64]] = deque()  # the last window_updates + 1 updates, ending at self.top
        self.top = -1  # update index of the last histogram in self.hist
        self.warm: tuple[F64, F64] | None = None  # thresholds of the warm-up updates once known
        self.pending: list[NDArray[np.int64]] = []  # update index of each sample not yet served
        self.known: dict[int, tuple[float, float]] = {}

    def push(self, t: F64, v: F64, ok: NDArray[np.bool_]) -> tuple[F64, F64]:
        if len(t) == 0:
            return self._serve(final=False)
        if self.t0 is None:
            self.t0 = float(t[0])
        t = np.ascontiguousarray(t, dtype=np.float64)
        v = np.ascontiguousarray(v, dtype=np.float64)
        ok = np.ascontiguousarray(ok, dtype=np.bool_)
        if float(t[-1]) - float(t[0]) <= 2 * self.p.update_s:  # the usual chunk: no silence inside it
            self._push_piece(t, v, ok)
            return self._serve(final=False)
        # histograms are dense in update index: the chunk is cut at every silence of over two updates (a
        # damaged stamp 1e12 s on, a tracker gap) and pushed piece by piece, as any chunking gives the same
        # thresholds; so the rows made follow the samples, not the time span
        with np.errstate(invalid="ignore"):
            cuts = np.flatnonzero(np.diff(t) > 2 * self.p.update_s) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(t)], strict=True):
            self._push_piece(t[a:b], v[a:b], ok[a:b])
        return self._serve(final=False)

    def _push_piece(self, t: F64, v: F64, ok: NDArray[np.bool_]) -> None:
        assert self.t0 is not None
        units, h = unit_histograms(t, v, ok, self.t0, self.p.update_s, self.p.bin_deg_s, self.p.bins)
        self._add(int(units[0]), h)
        self.pending.append(units)

    def finish(self) -> tuple[F64, F64]:
        return self._serve(final=True)

    def _add(self, first: int, h: NDArray[np.int64]) -> None:
        """Add the histograms of updates ``first ..`` and fix the thresholds that became known.

        The thresholds of update ``u`` (after the warm-up) use the complete updates ``[u - window, u)``;
        an update is complete once a later one has samples. Window sums come from cumulative sums of
        the histograms (exact integers), all new updates at once.
        """
        p = self.p
        old_top = self.top
        if first == old_top and len(h) == 1:  # the usual live chunk: more samples of the open update
            self.hist[-1] += h[0]
            return
        w = max(p.window_updates, p.warmup_updates)
        if old_top >= 0 and first > old_top + 2 * w + 1:  # a silence longer than two windows
            # the w empty updates after the last samples still see them in their windows: added as usual;
            # the updates after those have no samples and empty windows, so none of them is needed and
            # the schedule jumps to the w empty updates just before ``first`` (the same thresholds as
            # adding every empty update, without the 1e12 rows a damaged stamp would ask for)
            self._add(old_top + 1, np.zeros((w, p.bins + 1), dtype=np.int64))
            self.top = first - 1
            self.hist = deque(np.zeros((w, p.bins + 1), dtype=np.int64))
            old_top = self.top
        rows = list(self.hist)  # updates old_top - len + 1 .. old_top
        base = old_top - len(rows) + 1
        if first <= old_top:  # samples of the update still open
            rows[-1] = rows[-1] + h[0]
            h = h[1:]
            first += 1
        elif old_top >= 0 and first > old_top + 1:  # updates without samples in between
            h = np.concatenate([np.zeros((first - old_top - 1, p.bins + 1), dtype=np.int64), h])
            first = old_top + 1
        top = first + len(h) - 1 if len(h) else old_top
        stack = np.concatenate([np.asarray(rows, dtype=np.int64).reshape(len(rows), p.bins + 1), h]) if rows else h
        if not new_units(old_top, top, p.warmup_updates):
            self.top, self.hist = top, deque(stack[-p.window_updates:])
            return
        new = [u for u in range(old_top + 1, top + 1) if u >= p.warmup_updates]  # thresholds now known
        if new:
            cum = window_sums(np.ascontiguousarray(stack), np.asarray(new, dtype=np.int64) - base, p.window_updates)
            pt, on = _cum_thresholds(p, cum)
            for u, a, b in zip(new, pt.tolist(), on.tolist(), strict=True):
                self.known[u] = (a, b)
            if p.warmup_updates in new:
                for u in range(p.warmup_updates):
                    self.known[u] = self.known[p.warmup_updates]
        self.top = top
        self.hist = deque(stack[-(p.window_updates):])

    def _warmup(self) -> None:
        """At the end of a stream shorter than the warm-up: its thresholds from all of it."""
        hist = list(self.hist) if self.hist else [np.zeros(self.p.bins + 1, np.int64)]
        pt, on = _thresholds(self.p, np.sum(hist, axis=0, keepdims=True))
        for u in range(self.p.warmup_updates):
            self.known[u] = (float(pt[0]), float(on[0]))

    def _serve(self, final: bool) -> tuple[F64, F64]:
        if final and self.t0 is not None and self.top + 1 <= self.p.warmup_updates and 0 not in self.known:
            self._warmup()
        units = np.concatenate(self.pending) if self.pending else np.empty(0, dtype=np.int64)
        if len(units) == 0:
            return np.empty(0), np.empty(0)
        # units of samples not yet served are non-decreasing; known thresholds cover a prefix
        until = max(self.known) if self.known else -1  # thresholds are known for the updates 0 .. until
        known_upto = int(np.searchsorted(units, until, side="right"))
        served = units[:known_upto]
        rest = units[known_upto:]
        self.pending = [rest] if len(rest) else []
        if len(served) == 0:
            return np.empty(0), np.empty(0)
        lo, hi = int(served[0]), int(served[-1])
        if hi - lo <= 2 * len(served) + 16:  # a table over the updates from the first to the last (the usual case)
            present, at = range(lo, hi + 1), served - lo
        else:  # a table over the updates that hold samples, not over the span (a damaged stamp far on)
            uniq, at = np.unique(served, return_inverse=True)
            present = uniq.tolist()
        table_pt = np.array([self.known[u][0] if u in self.known else np.nan for u in present])
        table_on = np.array([self.known[u][1] if u in self.known else np.nan for u in present])
        for u in [u for u in self.known if u < lo - 1 and u < until]:
            del self.known[u]
        return table_pt[at], table_on[at]
