"""Gaze positions in degrees and angular velocity through a smoothing differentiator.

At 1 kHz the difference of two raw samples is mostly noise, so velocity is the
least-squares slope over a window of ``2k + 1`` samples (the first-derivative
Savitzky-Golay filter for polynomial order 1 or 2: Savitzky & Golay 1964, Anal Chem 36:1627).
Nystrom & Holmqvist 2010 (Behav Res Methods 42:188) use 20 ms; the default here is 10 ms, which
agreed better with expert coders at 1 kHz and is 3 samples (the minimum) below 150 Hz. The slope is fitted against
the samples' own times, so uneven rates are handled exactly; a window that holds a NaN or an
interval longer than :func:`max_gap_s` (samples missing without NaN rows) gives no velocity
(the sample is treated as track loss).

Every output sample is computed by the same operations in the same order from its own window
(:func:`app.detection.speed.smoothed_speed`), so the streaming detectors, which call it on
overlapping pieces of the stream, get bit-identical velocities to the offline run. The window of
each sample follows the noise (:mod:`app.detection.window`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.detection.gapfill import max_fill_samples, max_fill_span_s
from app.detection.speed import (
    S_ABOVE,
    S_BELOW,
    S_COORD,
    S_ORDER,
    S_TIME,
    edges_and_ok,
    ingest,
    smoothed_speed,
)

F64 = NDArray[np.float64]
#: the adaptive window is chosen from the noise of the samples in the first NOISE_FROM_S seconds (all
#: the online detector has when it must choose)
NOISE_FROM_S = 2.0


def half_window(rate_hz: float, window_s: float) -> int:
    """Samples on each side of the centre for a differentiator window of about ``window_s``."""
    if not (rate_hz > 0 and window_s > 0):
        raise GazeDataError(f"velocity filter: rate ({rate_hz!r}) and window ({window_s!r}) must be positive")
    return max(1, int(round(window_s * rate_hz / 2)))


def nominal_rate(t: F64) -> float:
    """The sampling rate from the median sample interval (robust to dropped samples)."""
    if len(t) < 2:
        raise GazeDataError("gaze data: at least two samples are needed to know the sampling rate")
    dt = float(np.median(np.diff(t)))
    if not dt > 0:
        raise GazeDataError("gaze data: the median sample interval is not positive (repeated timestamps?)")
    return 1.0 / dt


def max_gap_s(rate_hz: float) -> float:
    """A sample interval longer than this is missing data, not jitter: 3 nominal intervals, at least 20 ms."""
    return max(3.0 / rate_hz, 0.02)


def smoothed_velocity(t: F64, xd: F64, yd: F64, k: int, rate_hz: float) -> F64:
    """Angular speed in deg/s at every sample (NaN where the window is incomplete, NaN or gapped).

    The least-squares slope of position against the samples' own times over ``2k + 1`` samples
    (times and positions taken relative to a sample near the window, which keeps LSL clock values
    from cancelling); with even sampling it equals the Savitzky-Golay first derivative. The one
    compiled loop of the offline and online paths (:func:`app.detection.speed.smoothed_speed`),
    here with the same half window at every sample.
    """
    c = np.ascontiguousarray
    n = len(t)
    return smoothed_speed(c(t, dtype=np.float64), c(xd, dtype=np.float64), c(yd, dtype=np.float64),
                          np.full(n, int(k), dtype=np.int64), 0, n, max_gap_s(rate_hz), 0)


def to_degrees(geometry: ScreenGeometry, x: F64, y: F64) -> tuple[F64, F64]:
    """Pixels -> degrees from the screen centre: :meth:`ScreenGeometry.px_to_deg`'s ufuncs in the same order,
    in place in one array per axis (no temporaries; the same values)."""
    cmx, cmy = geometry.cm_per_px
    out = []
    for c, centre, scale in ((x, geometry.width_px / 2, cmx), (y, geometry.height_px / 2, cmy)):
        a = np.subtract(np.asarray(c, dtype=np.float64), centre)
        np.multiply(a, scale, out=a)
        np.arctan2(a, geometry.distance_cm, out=a)
        out.append(np.degrees(a, out=a))
    return out[0], out[1]


@dataclass(frozen=True)
class PreparedGaze:
    """Samples ready for any detector: pixels, degrees, speed and the usable-sample mask."""

    t: F64
    x: F64  # px
    y: F64
    xd: F64  # degrees from the screen centre
    yd: F64
    v: F64  # deg/s
    ok: NDArray[np.bool_]  # position and velocity defined
    rate_hz: float
    k: int
    noise_deg: float = 0.0  # per-axis SD of the position noise in the first NOISE_FROM_S seconds
    k_max: int = 0  # the widest half window used (the window widens where the noise rises)


def check_time(t: F64) -> None:
    """Reject what no detector can use: non-finite, repeated or unsorted timestamps."""
    if not np.all(np.isfinite(t)):
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise GazeDataError(f"gaze data: timestamp of sample {bad} is {float(t[bad])!r}, not a finite number")
    d = np.diff(t)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0])
        what = "repeated" if d[i] == 0 else "not increasing (unsorted)"
        raise GazeDataError(f"gaze data: timestamps are {what} at samples {i} and {i + 1} "
                            f"({float(t[i])!r}, {float(t[i + 1])!r}); sort the file and drop duplicate rows")


#: a given rate more than this factor away from the time stamps' own is refused
RATE_TOLERANCE = 1.25
#: coordinates further than this from the origin (px) are no screen positions (missing data must be NaN)
MAX_COORDINATE_PX = 1e6


def check_rate(rate_hz: object, t: F64) -> float:
    """The sampling rate to use: the given one if it is a positive finite number that agrees with the
    time stamps (within :data:`RATE_TOLERANCE`), else the time stamps' own (:func:`nominal_rate`)."""
    measured = nominal_rate(t)
    if rate_hz is None:
        return measured
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float, np.floating, np.integer)):
        raise GazeDataError(f"gaze data: the sampling rate must be a number, got {rate_hz!r}")
    rate = float(rate_hz)
    if not (math.isfinite(rate) and rate > 0):
        raise GazeDataError(f"gaze data: the sampling rate must be a positive finite number of Hz, got {rate!r}")
    if not (1 / RATE_TOLERANCE <= rate / measured <= RATE_TOLERANCE):
        raise GazeDataError(f"gaze data: the sampling rate {rate:g} Hz does not match the time stamps "
                            f"({measured:.4g} Hz from the median sample interval); correct the rate or leave it out")
    return rate


def check_coordinates(x: F64, y: F64) -> None:
    """Reject coordinates that are no screen positions (infinite, or beyond :data:`MAX_COORDINATE_PX`)."""
    for name, c in (("x", x), ("y", y)):
        with np.errstate(invalid="ignore"):
            bad = np.abs(c) > MAX_COORDINATE_PX
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise GazeDataError(f"gaze data: {name} of sample {i} is {float(c[i]):g} px, not a screen position "
                                f"(more than {MAX_COORDINATE_PX:g} px from the origin; missing samples must be "
                                f"empty or NaN; {int(bad.sum())} such samples)")


def fill_edges(v: F64, k: int, k_end: int | None = None) -> F64:
    """The first ``k`` and last ``k_end`` (default ``k``) samples of a recording take the velocity of the
    nearest full window.

    Without it every recording would start and end with ``k`` samples of (false) track loss.
    Gaps inside the recording are left alone: there the missing velocity is real.
    """
    n = len(v)
    k1 = k if k_end is None else k_end
    if n > k + k1:
        v[:k] = v[k]
        v[n - k1:] = v[n - k1 - 1]
    return v


def noise_sd_deg(xd: F64, yd: F64) -> float:
    """Per-axis SD of white position noise, from the median absolute sample-to-sample step.

    Robust to saccades (a minority of steps): for white noise a step has SD ``sigma * sqrt(2)``
    and its median absolute value is 0.6745 times that.
    """
    stride = max(1, len(xd) // 50_000)  # 50 000 steps per axis pin the median down to about 1 %
    steps = np.concatenate([np.abs(np.diff(xd)[::stride]), np.abs(np.diff(yd)[::stride])])
    steps = steps[np.isfinite(steps)]
    return float(np.median(steps) / (0.6745 * np.sqrt(2))) if len(steps) else 0.0


def adaptive_half_window(rate_hz: float, noise_deg: float, min_window_s: float = 0.01,
                         max_window_s: float = 0.04, target_deg_s: float = 15.0) -> int:
    """Smallest half window (from ``min_window_s``) whose velocity noise is at most ``target_deg_s``.

    The least-squares slope over ``2k + 1`` samples ``dt`` apart has SD
    ``sigma / (dt * sqrt(k (k + 1) (2k + 1) / 3))`` for white noise of SD ``sigma``; noisy trackers
    get a wider window (at most ``max_window_s``), clean ones keep the short default.
    """
    k = half_window(rate_hz, min_window_s)
    k_max = max(k, half_window(rate_hz, max_window_s))
    dt = 1.0 / rate_hz
    while k < k_max and noise_deg / (dt * math.sqrt(k * (k + 1) * (2 * k + 1) / 3)) > target_deg_s:
        k += 1
    return k


def ingest_checked(t: F64, x: F64, y: F64, rate_hz: float | None, gap_fill_s: float) -> tuple[float, F64, F64]:
    """The checks of :func:`check_time`, :func:`check_coordinates` and :func:`check_rate` and the gap fill-in
    (:func:`app.detection.gapfill.fill_gaps`) in one compiled pass (:func:`app.detection.speed.ingest`); the
    exact checks run again only to word a refusal, or when the pass cannot decide the rate on its own (no rate
    given, or the median sample interval near the tolerance). Returns the rate and the filled x and y."""
    given = (rate_hz is not None and not isinstance(rate_hz, bool) and isinstance(rate_hz, (int, float, np.floating))
             and math.isfinite(rate_hz) and rate_hz > 0 and len(t) >= 3)
    if not given:
        check_time(t)
        check_coordinates(x, y)
        rate = check_rate(rate_hz, t)
        lo, hi = 0.0, math.inf
    else:
        rate = float(rate_hz)  # type: ignore[arg-type]
        lo, hi = (1 + 1e-9) / (RATE_TOLERANCE * rate), RATE_TOLERANCE * (1 - 1e-9) / rate
    xo, yo, rep = ingest(t, x, y, max_fill_samples(rate, gap_fill_s), max_fill_span_s(rate, gap_fill_s), lo, hi,
                         MAX_COORDINATE_PX)
    if rep[S_TIME] or rep[S_ORDER]:
        check_time(t)
    if rep[S_COORD]:
        check_coordinates(x, y)
    if given:
        m = len(t) - 1  # the median interval lies within [lo, hi] when both middle order statistics do
        h = m // 2
        if not (rep[S_BELOW] <= h - 1 and rep[S_ABOVE] <= m - 1 - h):
            rate = check_rate(rate_hz, t)
    return rate, xo, yo


def prepare(block: GazeBlock, geometry: ScreenGeometry, rate_hz: float | None = None,
            window_s: float | None = 0.01, gap_fill_s: float = 0.0) -> PreparedGaze:
    """Degrees, velocity and validity for a whole recording (the offline path).

    ``window_s=None`` picks the window from the noise of the first :data:`NOISE_FROM_S` seconds
    (:func:`adaptive_half_window`), as the online detector must;
    ``gap_fill_s`` interpolates shorter runs of missing samples first (:mod:`app.detection.gapfill`).
    """
    c = np.ascontiguousarray
    t = c(block.t, dtype=np.float64)
    rate, x, y = ingest_checked(t, c(block.x, dtype=np.float64), c(block.y, dtype=np.float64), rate_hz, gap_fill_s)
    xd, yd = to_degrees(geometry, x, y)
    first = int(np.searchsorted(t, t[0] + NOISE_FROM_S))
    noise = noise_sd_deg(xd[:first], yd[:first])
    if window_s is None:  # the window follows the noise of the seconds before (app.detection.window)
        from app.detection.window import WindowSchedule

        ks = WindowSchedule(rate, float(t[0]), noise).push(t, xd, yd)
    else:
        ks = np.full(len(t), half_window(rate, window_s), dtype=np.int64)
    v = smoothed_speed(t, xd, yd, ks, 0, len(ks), max_gap_s(rate), 0)
    ok, k_max = edges_and_ok(v, xd, yd, ks)
    return PreparedGaze(t, x, y, xd, yd, v, ok, rate, int(ks[0]), noise, k_max)
