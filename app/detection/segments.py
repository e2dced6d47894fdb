"""From per-sample codes to events: runs of equal codes, then the post-processing labs know.

Post-processing follows the Tobii Pro I-VT filter (Olsen 2012, "The Tobii I-VT fixation
filter", Tobii Technology): adjacent fixations less than 75 ms and 0.5 deg apart are merged
(with what lay between them; the distance is from the first fixation's mean position to the
second's first sample, so an online detector can decide as soon as the second one starts),
then fixations shorter than a minimum duration are discarded (their samples become
``undefined``). Missing-data runs between ``blink_min_s`` and ``blink_max_s`` are blinks
(Holmqvist et al. 2011, "Eye tracking", ch. 5, give about 50-500 ms; the floor is 30 ms here
because the detector's missing-data runs are measured without the lid's closing phase), and
saccade-like runs that touch a blink are the lid's artefact and join it; other missing-data
runs are ``track_loss``.

The :class:`EventAssembler` is sequential and is fed the same runs, in the same order, by
the offline and the online detectors, so both give identical events.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze_events import GazeEvent

F64 = NDArray[np.float64]

# Internal per-sample codes used between a detector and the assembler.
UNDEF, FIX, SACC, PSO, LOSS = 0, 1, 2, 3, 9
_KIND = {FIX: "fixation", SACC: "saccade", PSO: "pso"}


@dataclass(frozen=True)
class PostParams:
    min_fixation_s: float = 0.06
    merge_gap_s: float = 0.075
    merge_angle_deg: float = 0.5
    blink_min_s: float = 0.03
    blink_max_s: float = 0.5
    #: if > 0, fixations merge only when closer than this many SDs of the position noise (and than
    #: merge_angle_deg): see :meth:`for_noise`
    merge_noise_sd: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise GazeDataError(f"post-processing: {name} must be a non-negative number, got {value!r}")
        if self.blink_max_s < self.blink_min_s:
            raise GazeDataError("post-processing: blink_max_s must not be below blink_min_s")

    def for_noise(self, noise_deg: float) -> PostParams:
        """The parameters for a recording with this position noise (per-axis SD, degrees).

        Merging joins fixations that noise split apart; two fixations further apart than the noise can
        explain (``merge_noise_sd`` SDs) are two, however close: a clean tracker resolves microsaccades.
        """
        if self.merge_noise_sd <= 0 or not math.isfinite(noise_deg):
            return self
        return replace(self, merge_angle_deg=min(self.merge_angle_deg, self.merge_noise_sd * max(noise_deg, 0.0)),
                       merge_noise_sd=0.0)


class Run:
    """A run of samples with one code, with the sums needed for its event (mutable, merged in place)."""

    __slots__ = ("code", "start", "stop", "onset", "offset", "sx", "sy", "n", "peak", "x0", "y0", "x1", "y1")

    def __init__(self, code: int, start: int, stop: int, onset: float, offset: float, sx: float, sy: float,
                 n: int, peak: float, x0: float, y0: float, x1: float, y1: float) -> None:
        self.code, self.start, self.stop, self.onset, self.offset = code, start, stop, onset, offset
        self.sx, self.sy, self.n, self.peak = sx, sy, n, peak
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1

    @property
    def mean(self) -> tuple[float, float]:
        return (self.sx / self.n, self.sy / self.n) if self.n else (math.nan, math.nan)

    def absorb(self, later: Run) -> None:
        self.stop, self.offset = later.stop, later.offset
        self.sx, self.sy, self.n = self.sx + later.sx, self.sy + later.sy, self.n + later.n
        self.peak = max(self.peak, later.peak)
        self.x1, self.y1 = later.x1, later.y1


def runs_from_codes(codes: NDArray[np.int8], t: F64, x: F64, y: F64, v: F64, dt: float,
                    index0: int = 0) -> list[Run]:
    """Split samples into runs of equal code, with per-run sums (vectorised)."""
    n = len(codes)
    if n == 0:
        return []
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [n]))
    good = codes != LOSS
    xz = np.where(good, x, 0.0)
    yz = np.where(good, y, 0.0)
    vz = np.where(good & np.isfinite(v), v, -np.inf)
    sx = np.add.reduceat(xz, starts)
    sy = np.add.reduceat(yz, starts)
    peak = np.maximum.reduceat(vz, starts)
    cnt = np.add.reduceat(good.astype(np.int64), starts)
    rows = zip(codes[starts].tolist(), starts.tolist(), stops.tolist(), t[starts].tolist(),
               (t[stops - 1] + dt).tolist(), sx.tolist(), sy.tolist(), cnt.tolist(), peak.tolist(),
               x[starts].tolist(), y[starts].tolist(), x[stops - 1].tolist(), y[stops - 1].tolist(), strict=True)
    return [Run(c, a + index0, b + index0, on, off, s1, s2, m, pk if pk > -math.inf else math.nan, *ends)
            for c, a, b, on, off, s1, s2, m, pk, *ends in rows]


AngleFn = Callable[[float, float, float, float], float]


class EventAssembler:
    """Sequential post-processing of runs into events (see the module docstring)."""

    def __init__(self, params: PostParams, angle_px: AngleFn) -> None:
        self.p = params
        self.angle = angle_px
        self.fix: Run | None = None  # last fixation, may still merge with the next one
        self.held: list[Run] = []  # saccades/PSOs/undefined after it, may still join a blink
        self.blink: Run | None = None  # last blink, may still absorb a following saccade-like run
        self.out: list[GazeEvent] = []

    def feed(self, run: Run) -> None:
        if run.code == LOSS:
            self._loss(run)
        elif run.code == FIX:
            self._release_blink()
            if self.fix is not None and self._mergeable(self.fix, run):
                self.fix.absorb(run)
                self.held.clear()
            else:
                self._release_fix()
                self._release_held()
                self.fix = run
        else:  # saccade, PSO, undefined
            if self.blink is not None and run.code != UNDEF and run.start == self.blink.stop:
                self.blink.absorb(run)
                return
            self._release_blink()
            self.held.append(run)

    def advance(self, horizon: float, upcoming: Run | None = None) -> None:
        """Release a fixation that can no longer merge (online use).

        No run fed later starts before ``horizon``; ``upcoming`` is the run in progress (only its
        onset and first sample are used, and they do not change as it grows).
        """
        if self.fix is None:
            return
        if horizon - self.fix.offset >= self.p.merge_gap_s or (
                upcoming is not None and upcoming.code == FIX and not self._mergeable(self.fix, upcoming)):
            self._release_fix()

    def finish(self) -> list[GazeEvent]:
        self._release_fix()
        self._release_held()
        self._release_blink()
        return self.take()

    def take(self) -> list[GazeEvent]:
        out, self.out = self.out, []
        return out

    def _mergeable(self, a: Run, b: Run) -> bool:
        if b.onset - a.offset >= self.p.merge_gap_s:
            return False
        ax, ay = a.mean
        return self.angle(ax, ay, b.x0, b.y0) < self.p.merge_angle_deg

    def _loss(self, run: Run) -> None:
        duration = run.offset - run.onset
        if not (self.p.blink_min_s <= duration <= self.p.blink_max_s):
            self._release_fix()
            self._release_held()
            self._release_blink()
            self.out.append(self._event("track_loss", run))
            return
        blink = run
        while self.held and self.held[-1].code in (SACC, PSO) and self.held[-1].stop == blink.start:
            before = self.held.pop()
            before.absorb(blink)
            before.code = LOSS
            blink = before
        self._release_fix()
        self._release_held()
        self._release_blink()
        self.blink = blink

    def _release_fix(self) -> None:
        f, self.fix = self.fix, None
        if f is not None and f.offset - f.onset >= self.p.min_fixation_s:
            self.out.append(self._event("fixation", f))

    def _release_held(self) -> None:
        for r in self.held:
            if r.code in _KIND:
                self.out.append(self._event(_KIND[r.code], r))
        self.held.clear()

    def _release_blink(self) -> None:
        b, self.blink = self.blink, None
        if b is not None:
            self.out.append(self._event("blink", b))

    def _event(self, kind: str, r: Run) -> GazeEvent:
        x, y = r.mean
        moving = kind in ("saccade", "pso")
        amp = self.angle(r.x0, r.y0, r.x1, r.y1) if moving else math.nan
        lost = kind in ("blink", "track_loss")
        return GazeEvent(kind, r.onset, r.offset, r.offset - r.onset, math.nan if lost else x,
                         math.nan if lost else y, amp, math.nan if lost else r.peak, r.start, r.stop,
                         r.x0, r.y0, r.x1, r.y1)
