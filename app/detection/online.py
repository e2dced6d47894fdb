"""Online (streaming) detection, every method: events as the samples arrive, the same as offline.

The live session calls :meth:`OnlineDetector.feed` with each new chunk taken from the gaze
ring buffer (:class:`app.core.gaze.GazeRingBuffer`) and gets the events that this chunk
completed; :meth:`OnlineDetector.flush` ends the stream. Work per chunk is proportional to
the chunk plus a constant (the differentiator's ``2k`` samples of history, the I-DT window):

- velocity: :func:`~app.detection.speed.smoothed_speed` over the last ``2 k_max`` samples
  and the new chunk; each sample's velocity is computed from the same values in the same
  order as offline, so it is bit-identical;
- the differentiator's window: fixed, or (``velocity_window_s=None``, as offline by default) chosen
  from the noise of the first :data:`~app.detection.velocity.NOISE_FROM_S` seconds, which are held
  back until then;
- labels: the same element-wise I-VT rule, the incremental I-DT of :class:`IdtLabeller`, or the
  default detector's :class:`NhLabeller` (its adaptive thresholds come from the first 2 s, then from
  the 10 s before each second: it holds back the first 2 s, then labels as the samples come);
- events: runs of equal labels go through the same :class:`EventAssembler` as offline.

A fixation is reported once it can no longer merge with a later one (Tobii's 75 ms rule), so
its latency after the last fixation sample is at most ``merge_gap_s`` plus ``k`` samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.gaze_events import GazeEvent
from app.core.geometry import ScreenGeometry
from app.detection.gapfill import GapFiller, max_fill_samples, max_fill_span_s
from app.detection.idt import IdtLabeller
from app.detection.ivt import IvtLabeller
from app.detection.nh import NhLabeller
from app.detection.pipeline import DEFAULT_METHOD, GAP_FILL_S, METHODS, default_post, describe, make_params
from app.detection.segments import EventAssembler, PostParams
from app.detection.speed import RESTART, chunk_check, smoothed_speed
from app.detection.velocity import (
    MAX_COORDINATE_PX,
    NOISE_FROM_S,
    half_window,
    max_gap_s,
    noise_sd_deg,
    to_degrees,
)
from app.detection.window import WindowSchedule

F64 = NDArray[np.float64]
ONLINE_METHODS = tuple(METHODS)


class ColumnFifo:
    """Rows of float columns appended at the back and dropped from the front, amortised O(1)."""

    def __init__(self, ncols: int, capacity: int = 1024) -> None:
        self.a = np.empty((ncols, capacity))
        self.head = 0
        self.tail = 0

    def __len__(self) -> int:
        return self.tail - self.head

    def append(self, cols: list[F64]) -> None:
        n = len(cols[0])
        if self.tail + n > self.a.shape[1]:
            live = self.a[:, self.head:self.tail]
            cap = max(2 * (len(self) + n), 1024)
            grown = np.empty((self.a.shape[0], cap)) if cap > self.a.shape[1] else self.a
            grown[:, :len(self)] = live.copy() if grown is self.a else live
            self.a, self.tail, self.head = grown, len(self), 0
        for r, c in enumerate(cols):
            self.a[r, self.tail:self.tail + n] = c
        self.tail += n

    def view(self) -> F64:
        return self.a[:, self.head:self.tail]

    def drop(self, n: int) -> None:
        self.head += min(n, len(self))


_LOADED: set[str] = set()


def warmup_gaze(n: int, rate: float) -> tuple[F64, F64, F64]:
    """``n`` samples of synthetic gaze (t, x, y in px) that take every compiled path: fixations joined by a saccade
    every 0.5 s, a 3-sample gap (filled in) at sample 1000 and a 120 ms blink 300 samples before the end."""
    t = np.arange(n) / rate
    x = np.where((t // 0.5) % 2 == 0, 900.0, 1100.0) + 0.3 * np.sin(t * 97.0)
    y = np.full(n, 540.0) + 0.3 * np.cos(t * 89.0)
    x[1000:1003] = np.nan
    x[n - 300:n - 300 + int(0.12 * rate)] = np.nan
    return t, x, y


def load_kernels(method: str) -> None:
    """Once per process and method: stream 3 s of synthetic gaze (a fixation, a saccade, a gap, a blink) through a
    throw-away detector, so that the compiled loops are loaded from numba's cache (a few ms each on first use)
    when the detector is made, not in the middle of a live stream."""
    if method in _LOADED:
        return
    _LOADED.add(method)
    rate = 500.0
    t, x, y = warmup_gaze(1500, rate)
    det = OnlineDetector(ScreenGeometry(), rate, method=method)
    for i in range(0, len(t), 10):
        det.feed(GazeBlock(t[i:i + 10], x[i:i + 10], y[i:i + 10], np.full(len(t[i:i + 10]), np.nan)))
    det.flush()


class OnlineDetector:
    """Streaming fixation/saccade detection with constant amortised work per sample."""

    def __init__(self, geometry: ScreenGeometry, rate_hz: float, method: str = DEFAULT_METHOD, params: Any = None,
                 post: PostParams | None = None, velocity_window_s: float | None = None,
                 drop_disordered: bool = False, gap_fill_s: float = GAP_FILL_S) -> None:
        """``velocity_window_s=None``: the differentiator's window follows the noise of the first seconds,
        as :func:`~app.detection.pipeline.detect` does by default. ``drop_disordered``: drop (and count in
        :attr:`dropped`) samples whose time is not after the previous sample's, instead of raising; for
        live streams whose clock may stutter. Event sample indices then count the kept samples only."""
        if method not in ONLINE_METHODS:
            raise GazeDataError(f"online detection: method must be one of {ONLINE_METHODS}, got {method!r}")
        if not (isinstance(rate_hz, (int, float)) and not isinstance(rate_hz, bool) and math.isfinite(rate_hz)
                and rate_hz > 0):
            raise GazeDataError(f"online detection: rate_hz must be a positive number, got {rate_hz!r}")
        self.geometry = geometry
        self.rate_hz = float(rate_hz)
        self.method = method
        self.params = make_params(method) if params is None else params
        self.post = default_post(method) if post is None else post
        self.velocity_window_s = velocity_window_s
        self.noise_deg = np.nan
        # the window and the merge distance may follow the noise of the first seconds: hold those back
        self._hold = velocity_window_s is None or self.post.merge_noise_sd > 0
        self.k = 0 if self._hold or velocity_window_s is None else half_window(self.rate_hz, velocity_window_s)
        self.gap_fill_s = gap_fill_s
        self._filler = GapFiller(max_fill_samples(self.rate_hz, gap_fill_s), max_fill_span_s(self.rate_hz, gap_fill_s))
        self.labeller: IvtLabeller | IdtLabeller | NhLabeller = (
            IvtLabeller(self.params) if method == "ivt" else IdtLabeller(self.params) if method == "idt"
            else NhLabeller(self.params, self.rate_hz))
        self.assembler = EventAssembler(self.post, geometry, self.rate_hz)
        self._vbuf = ColumnFifo(6)  # t, x, y, xd, yd, half window from index self._vfirst
        self._schedule: WindowSchedule | None = None
        self._kmax = self.k
        self._k_last = self.k
        self._early: list[tuple[F64, F64, F64, F64, F64]] = []  # samples before the window is chosen
        if not self._hold:
            self._start_velocity()
        self._next_v = 0  # first sample whose velocity is not yet known
        self._n = 0  # samples received
        self._t0 = np.nan
        self._lbuf = ColumnFifo(4)  # t, x, y, v of samples waiting for their label
        self._last_v = np.nan  # velocity of the last sample passed on
        self._last_t = -np.inf
        self._closed = False
        self.drop_disordered = drop_disordered
        self.dropped = 0  # samples dropped for non-increasing or non-finite time
        load_kernels(method)

    @property
    def params_used(self) -> dict[str, float | int | str]:
        return describe(self.method, self.params, self.post, self.geometry, self.rate_hz, self.k, self.gap_fill_s,
                        self.noise_deg)

    def feed(self, block: GazeBlock) -> list[GazeEvent]:
        """Add a chunk of samples (later than all before); returns the events it completed."""
        if self._closed:
            raise GazeDataError("online detection: feed() after flush(); start a new detector")
        if len(block) == 0:
            return []
        t = np.asarray(block.t, dtype=np.float64)
        x, y = np.asarray(block.x, np.float64), np.asarray(block.y, np.float64)
        ordered, far_any = chunk_check(np.ascontiguousarray(t), np.ascontiguousarray(x), np.ascontiguousarray(y),
                                       self._last_t, MAX_COORDINATE_PX)
        if not ordered:
            if not self.drop_disordered:
                raise GazeDataError("online detection: chunk timestamps must be finite and increase strictly, "
                                    "also across chunks")
            keep = np.isfinite(t) & (t > np.fmax.accumulate(np.concatenate(([self._last_t], t[:-1]))))
            self.dropped += int(len(t) - keep.sum())
            t, x, y = t[keep], x[keep], y[keep]
            if len(t) == 0:
                return []
        self._last_t = float(t[-1])
        if far_any or not ordered:  # a live stream's garbage (1e308, inf) is missing data, not a position
            with np.errstate(invalid="ignore"):
                far = (np.abs(x) > MAX_COORDINATE_PX) | (np.abs(y) > MAX_COORDINATE_PX)
            if far.any():
                x, y = np.where(far, np.nan, x), np.where(far, np.nan, y)
        self._take(*self._filler.push(t, x, y))
        return self.assembler.take()

    def _start_velocity(self) -> None:
        km = self._kmax
        self._vbuf.append([np.full(km, np.nan)] * 5 + [np.zeros(km)])  # the stream's start: no history
        self._vfirst = -km

    def _windows(self, t: F64, xd: F64, yd: F64) -> F64:
        """Half window of each new sample (fixed, or from :class:`~app.detection.window.WindowSchedule`)."""
        if self._schedule is None:
            return np.full(len(t), float(self.k))
        ks = self._schedule.push(t, xd, yd)
        if len(ks):
            self._k_last = int(ks[-1])
        return ks.astype(np.float64)

    def _choose_window(self) -> None:
        """The adaptive window from the noise of the first seconds (as :func:`~app.detection.velocity.prepare`)."""
        t, x, y, xd, yd = (np.concatenate(c) for c in zip(*self._early, strict=True))
        first = int(np.searchsorted(t, t[0] + NOISE_FROM_S))
        self.noise_deg = noise_sd_deg(xd[:first], yd[:first])
        if self.velocity_window_s is None:
            self._schedule = WindowSchedule(self.rate_hz, float(t[0]), self.noise_deg)
            self.k, self._kmax = self._schedule.k_warm, self._schedule.k_max
        else:
            self.k = self._kmax = self._k_last = half_window(self.rate_hz, self.velocity_window_s)
        self.post = self.post.for_noise(self.noise_deg)
        self.assembler = EventAssembler(self.post, self.geometry, self.rate_hz)
        self._early = []
        self._hold = False
        self._start_velocity()
        self._vbuf.append([t, x, y, xd, yd, self._windows(t, xd, yd)])
        self._n += len(t)
        self._advance(self._n - self._kmax)

    def _take(self, t: F64, x: F64, y: F64, final: bool = False) -> None:
        """Samples out of the gap filler into the velocity stage."""
        if self._hold:  # still measuring the noise of the first seconds
            if len(t):
                self._t0 = float(t[0]) if not self._early else self._t0
                self._early.append((t, x, y, *to_degrees(self.geometry, x, y)))
            if self._early and (final or self._early[-1][0][-1] >= self._t0 + NOISE_FROM_S):
                self._choose_window()
            return
        if len(t) == 0:
            return
        xd, yd = to_degrees(self.geometry, x, y)
        self._vbuf.append([t, x, y, xd, yd, self._windows(t, xd, yd)])
        self._n += len(t)
        self._advance(self._n - self._kmax)

    def flush(self) -> list[GazeEvent]:
        """End of the stream: label what is left and return the remaining events."""
        if self._closed:
            return []
        self._take(*self._filler.finish(), final=True)
        if self._hold:  # no samples at all
            self._closed = True
            self.assembler.finish()
            return self.assembler.take()
        self._vbuf.append([np.full(self._kmax, np.nan)] * 5 + [np.zeros(self._kmax)])  # no samples after the end
        self._advance(self._n, final=True)
        self._label(self.labeller.finish())
        self.assembler.finish()
        self._closed = True
        return self.assembler.take()

    def _advance(self, upto: int, final: bool = False) -> None:
        """Compute velocities of samples [next_v, upto) and pass them on to the labeller."""
        k, k1 = self.k, self._k_last  # the first sample's half window, the last one's so far
        if upto <= self._next_v or (not final and self._next_v == 0 and upto <= k):
            return  # the first k samples wait for sample k's velocity (see fill_edges)
        buf = self._vbuf.view()
        t, x, y, xd, yd, kcol = buf
        a, b = self._next_v - self._vfirst, upto - self._vfirst
        vv = smoothed_speed(np.ascontiguousarray(t), np.ascontiguousarray(xd), np.ascontiguousarray(yd),
                            kcol.astype(np.int64), a, b, max_gap_s(self.rate_hz), self._vfirst)
        # as fill_edges does offline when n > k + k1 (before the end, n > k + k_max >= k + k1 holds already)
        if not final or self._n > k + k1:
            if self._next_v == 0:
                vv[:k] = vv[k]
            if final:
                src = self._n - k1 - 1
                vv[len(vv) - k1:] = vv[src - self._next_v] if src >= self._next_v else self._last_v
        if len(vv):
            self._last_v = float(vv[-1])
        ok = np.isfinite(vv) & np.isfinite(xd[a:b]) & np.isfinite(yd[a:b])
        self._lbuf.append([t[a:b], x[a:b], y[a:b], vv])
        self._label(self.labeller.push(t[a:b], xd[a:b], yd[a:b], vv, ok))
        self._next_v = upto
        keep_from = max(upto - self._kmax - RESTART, self._vfirst)  # history for the next windows (and sums)
        self._vbuf.drop(keep_from - self._vfirst)
        self._vfirst = keep_from

    def _label(self, codes: NDArray[np.int8]) -> None:
        m = len(codes)
        if m == 0:
            return
        t, x, y, v = self._lbuf.view()[:, :m]
        self.assembler.push(codes, t, x, y, v, online=True)
        self._lbuf.drop(m)
