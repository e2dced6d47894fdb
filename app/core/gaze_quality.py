"""Warnings about the gaze a tracker sends while a session runs (pure: numpy, no LSL).

:class:`GazeQualityMonitor` is fed every chunk the acquisition maps (time stamps and screen pixels) with
the wall-clock time it arrived, and returns a :class:`QualityWarning` when

- ``no_gaze``: every sample for more than ``nan_s`` seconds had no valid position (the stream runs but
  carries NaN: the tracker lost the eyes, or a channel mapping that picks the wrong channels);
- ``bad_timestamps``: a time stamp is NaN/infinite, or time stamps do not increase (repeat or go back);
- ``off_screen``: most valid positions of the last ``window_s`` seconds lie far outside the screen (more
  than ``margin`` screen widths/heights beyond an edge: a wrong unit, origin or screen size).

Each kind warns once per episode: again only after the condition has cleared (``gaze_back``-style
re-arming) and at most once per ``repeat_s`` seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
KINDS = ("no_gaze", "bad_timestamps", "off_screen")


@dataclass(frozen=True)
class QualityWarning:
    kind: str  # one of KINDS
    message: str
    t: float | None  # LSL time of the chunk that raised it (last finite time stamp), if any

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"quality warning kind must be one of {KINDS}, got {self.kind!r}")

    def to_record(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "t": self.t}


@dataclass(frozen=True)
class ChunkCounts:
    """What the position checks need of a chunk: samples with a finite position, those far off the screen
    and the sums of their coordinates (:meth:`GazeQualityMonitor.counts`; the live acquisition computes the
    same in its compiled loop, ``app.acquisition.map_kernel.ingest_chunk``)."""

    n_valid: int
    n_far: int
    far_sum_x: float
    far_sum_y: float


class GazeQualityMonitor:
    """Feed it chunks; it returns the warnings they raise (see the module docstring)."""

    def __init__(self, screen_px: tuple[int, int], nan_s: float = 3.0, margin: float = 0.5, window_s: float = 1.0,
                 repeat_s: float = 30.0, min_samples: int = 10) -> None:
        if not (len(screen_px) == 2 and all(v > 0 for v in screen_px)):
            raise ValueError(f"screen size must be two positive numbers of pixels, got {screen_px!r}")
        if not (nan_s > 0 and margin >= 0 and window_s > 0 and repeat_s >= 0 and min_samples > 0):
            raise ValueError("quality monitor: nan_s and window_s must be > 0, margin and repeat_s >= 0")
        self.screen_px, self.nan_s, self.margin = screen_px, nan_s, margin
        self.window_s, self.repeat_s, self.min_samples = window_s, repeat_s, min_samples
        self._last_t: float | None = None
        self._nan_since: float | None = None  # wall clock of the first sample of the current all-NaN run
        self._window_start: float | None = None
        self._valid = self._far = 0
        self._far_x: list[float] = []
        self._far_y: list[float] = []
        self._active: set[str] = set()  # kinds warned about whose condition has not cleared yet
        self._warned_at: dict[str, float] = {}

    def counts(self, x: F64, y: F64) -> ChunkCounts:
        """The position counts of a chunk (see :class:`ChunkCounts`)."""
        w, h = self.screen_px
        valid = np.isfinite(x) & np.isfinite(y)
        far = valid & ((x < -self.margin * w) | (x > (1 + self.margin) * w) |
                       (y < -self.margin * h) | (y > (1 + self.margin) * h))
        return ChunkCounts(int(valid.sum()), int(far.sum()), float(x[far].sum()), float(y[far].sum()))

    def feed(self, t: F64, x: F64, y: F64, now: float, counts: ChunkCounts | None = None) -> list[QualityWarning]:
        """Check a chunk; ``counts``: its :meth:`counts`, when the caller has them already."""
        t, x, y = (np.asarray(a, dtype=np.float64) for a in (t, x, y))
        if len(t) == 0:
            return []
        if math.isfinite(t[-1]):
            stamp: float | None = float(t[-1])
        else:
            finite_t = t[np.isfinite(t)]
            stamp = float(finite_t[-1]) if len(finite_t) else None
        out: list[QualityWarning] = []
        self._timestamps(t, now, stamp, out)
        c = self.counts(x, y) if counts is None else counts
        self._no_gaze(c.n_valid > 0, now, stamp, out)
        self._off_screen(c, now, stamp, out)
        return out

    # -- the three checks --------------------------------------------------------------------------
    def _timestamps(self, t: F64, now: float, stamp: float | None, out: list[QualityWarning]) -> None:
        if self._last_t is not None and t[0] > self._last_t and math.isfinite(t[-1]) and (
                len(t) == 1 or bool((t[1:] > t[:-1]).all())):  # the usual chunk: finite and increasing
            self._last_t = float(t[-1])
            self._active.discard("bad_timestamps")
            return
        bad = ~np.isfinite(t)
        prev = np.concatenate(([self._last_t if self._last_t is not None else -np.inf], t[:-1]))
        # carry the last finite stamp forward so one NaN does not hide a step back after it
        prev = np.maximum.accumulate(np.where(np.isfinite(prev), prev, -np.inf))
        with np.errstate(invalid="ignore"):
            back = np.isfinite(t) & (t <= prev)
        n_bad, n_back = int(bad.sum()), int(back.sum())
        if stamp is not None:
            self._last_t = max(stamp, self._last_t) if self._last_t is not None else stamp
        if n_bad or n_back:
            what = []
            if n_bad:
                what.append(f"{n_bad} NaN/infinite")
            if n_back:
                what.append(f"{n_back} repeated or backward")
            self._raise("bad_timestamps", f"tracker time stamps are broken: {' and '.join(what)} in the last "
                        f"{len(t)} samples (samples are recorded as sent; check the tracker's clock/LSL app)",
                        now, stamp, out)
        else:
            self._active.discard("bad_timestamps")

    def _no_gaze(self, any_valid: bool, now: float, stamp: float | None, out: list[QualityWarning]) -> None:
        if any_valid:
            self._nan_since = None
            self._active.discard("no_gaze")
            return
        if self._nan_since is None:
            self._nan_since = now
        if now - self._nan_since > self.nan_s:
            self._raise("no_gaze", f"no valid gaze for {now - self._nan_since:.0f} s: every sample is NaN "
                        "(eyes lost, tracker not tracking, or the wrong channels mapped)", now, stamp, out)

    def _off_screen(self, c: ChunkCounts, now: float, stamp: float | None, out: list[QualityWarning]) -> None:
        w, h = self.screen_px
        if self._window_start is None:
            self._window_start = now
        self._valid += c.n_valid
        self._far += c.n_far
        if c.n_far:
            self._far_x.append(c.far_sum_x / c.n_far)
            self._far_y.append(c.far_sum_y / c.n_far)
        if now - self._window_start < self.window_s:
            return
        if self._valid >= self.min_samples and self._far > self._valid / 2:
            self._raise("off_screen", f"gaze far outside the {w}x{h} px screen ({self._far / self._valid:.0%} of "
                        f"samples, around ({np.mean(self._far_x):.0f}, {np.mean(self._far_y):.0f}) px): wrong "
                        "unit, origin or screen size? check the channel mapping", now, stamp, out)
        elif self._valid >= self.min_samples:
            self._active.discard("off_screen")
        self._window_start, self._valid, self._far = now, 0, 0
        self._far_x.clear()
        self._far_y.clear()

    def _raise(self, kind: str, message: str, now: float, stamp: float | None, out: list[QualityWarning]) -> None:
        if kind in self._active:
            return
        last = self._warned_at.get(kind)
        if last is not None and now - last < self.repeat_s:
            return
        self._active.add(kind)
        self._warned_at[kind] = now
        out.append(QualityWarning(kind, message, stamp))
