"""Synthetic gaze: realistic eye movements for tests, the simulated tracker and benchmarks.

The signal is built in degrees of visual angle from the screen centre and converted to
screen pixels with :class:`~app.core.geometry.ScreenGeometry`, so precision and accuracy are
expressed in the units in which eye-tracking papers report them.

Models and their sources:

- Saccade duration follows the linear main sequence ``D = 2.2 ms/deg * A + 21 ms``
  (Carpenter 1988, *Movements of the Eyes*; Baloh et al. 1975). The position follows the
  minimum-jerk profile ``s(u) = 10u^3 - 15u^4 + 6u^5`` (Flash & Hogan 1985), a smooth bell-shaped
  velocity with peak ``1.875 A / D``; with the linear duration this gives a saturating peak
  velocity ``Vpeak = Vmax A / (A + c)`` with ``Vmax = 1.875 / 2.2 ms ~ 850 deg/s`` and
  ``c = 21/2.2 ~ 9.5 deg`` (about 80 deg/s at 1 deg, 440 deg/s at 10 deg, 580 deg/s at 20 deg).
- Post-saccadic oscillations: a damped sinusoid along the saccade direction, about 40 ms
  (Nystrom & Holmqvist 2010; Hooge et al. 2015, "The art of braking").
- Fixations: linear drift at ``drift_deg_per_s`` in a random direction plus white noise whose
  per-axis SD is set so that the RMS of sample-to-sample distances equals the requested
  precision (RMS-S2S, Holmqvist et al. 2012 "Eye tracker data quality"): for white noise
  ``RMS-S2S^2 = 4 sigma^2 + (v / rate)^2``.
- Blinks: NaN runs of 100-250 ms framed by the lid artefact (the vertical signal dives down and
  the pupil shrinks just before and after the loss; Hershman et al. 2018). Short track loss:
  NaN runs of 10-60 ms.
- Labels use the codes of the irf expert-annotated data (Zemblys et al. 2018): 0 undefined,
  1 fixation, 2 saccade, 3 PSO, 5 blink / track loss.

Reading and viewing: :func:`plan_scanpath` reads the caption left to right (word-length
dependent durations, skips of short words, occasional regressions; Rayner 1998) and then looks
at the image objects, larger and more central first (250-400 ms each), with a few returns to words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.layout import Aoi, TrialLayout

UNDEFINED, FIXATION, SACCADE, PSO, BLINK = 0, 1, 2, 3, 5
LABEL_NAMES = {UNDEFINED: "undefined", FIXATION: "fixation", SACCADE: "saccade", PSO: "pso", BLINK: "blink"}

SACCADE_S_PER_DEG = 0.0022
SACCADE_INTERCEPT_S = 0.021
MIN_JERK_PEAK = 1.875  # peak velocity of the minimum-jerk profile, in units of A / D

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class _Dwell:
    x: F64  # deg, with noise, NaN where lost
    y: F64
    pupil: F64
    labels: NDArray[np.uint8]
    clean: F64  # (n, 2) noise-free eye position in deg

    def cut(self, start: int, stop: int) -> _Dwell:
        return _Dwell(self.x[start:stop], self.y[start:stop], self.pupil[start:stop], self.labels[start:stop],
                      self.clean[start:stop])


@dataclass(frozen=True)
class Target:
    """Where the eye goes (screen px) and how long it dwells there (landing to next saccade)."""

    x_px: float
    y_px: float
    duration_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.x_px) and math.isfinite(self.y_px)):
            raise GazeDataError(f"target: x_px and y_px must be finite, got ({self.x_px}, {self.y_px})")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise GazeDataError(f"target: duration_s must be > 0, got {self.duration_s}")


@dataclass(frozen=True)
class SimParams:
    """Data quality and oculomotor behaviour of the simulated eye (angles in degrees)."""

    precision_rms_s2s_deg: float = 0.05
    accuracy_offset_deg: tuple[float, float] = (0.0, 0.0)  # constant (x, y) error, + = right/down
    drift_deg_per_s: float = 0.1
    blink_rate_per_min: float = 12.0
    blink_duration_s: tuple[float, float] = (0.10, 0.25)
    track_loss_prob: float = 0.02  # probability that one fixation contains a short track loss
    track_loss_duration_s: tuple[float, float] = (0.01, 0.06)
    pso: bool = True
    pso_duration_s: float = 0.04
    landing_error_fraction: float = 0.05  # SD of the landing error as a fraction of the amplitude
    pupil_mm: float = 3.5

    def __post_init__(self) -> None:
        for name in ("precision_rms_s2s_deg", "drift_deg_per_s", "blink_rate_per_min", "track_loss_prob",
                     "pso_duration_s", "landing_error_fraction", "pupil_mm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise GazeDataError(f"simulation parameters: {name} must be a number >= 0, got {v!r}")
        if self.track_loss_prob > 1:
            raise GazeDataError(f"simulation parameters: track_loss_prob must be <= 1, got {self.track_loss_prob}")
        for name in ("accuracy_offset_deg", "blink_duration_s", "track_loss_duration_s"):
            v = getattr(self, name)
            if len(v) != 2 or not all(math.isfinite(float(e)) for e in v):
                raise GazeDataError(f"simulation parameters: {name} must be two finite numbers, got {v!r}")
        for name in ("blink_duration_s", "track_loss_duration_s"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise GazeDataError(f"simulation parameters: {name} must be (min, max) with 0 < min <= max")


@dataclass(frozen=True)
class SyntheticGaze:
    """Samples (``block``), their ground-truth ``labels`` and the events as (label, onset, offset)."""

    block: GazeBlock
    labels: NDArray[np.uint8]
    events: list[tuple[int, float, float]]
    target_index: NDArray[np.int64]  # index of the target each sample belongs to (-1: none)


def main_sequence(amplitude_deg: float | F64) -> tuple[F64, F64]:
    """Saccade duration (s) and peak velocity (deg/s) for an amplitude (deg)."""
    a = np.asarray(amplitude_deg, dtype=np.float64)
    duration = SACCADE_S_PER_DEG * a + SACCADE_INTERCEPT_S
    return duration, MIN_JERK_PEAK * a / duration


def events_from_labels(t: F64, labels: NDArray[np.uint8], rate_hz: float) -> list[tuple[int, float, float]]:
    """Runs of equal labels -> (label, onset of first sample, onset of last sample + 1/rate); 0 skipped."""
    if len(labels) == 0:
        return []
    edges = np.flatnonzero(np.diff(labels.astype(np.int16))) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [len(labels)]))
    return [(int(labels[s]), float(t[s]), float(t[e - 1] + 1.0 / rate_hz))
            for s, e in zip(starts, ends, strict=True) if labels[s] != UNDEFINED]


class _Eye:
    """Builds one dwell (saccade + PSO + fixation) at a time, in degrees, from a start position."""

    def __init__(self, rate_hz: float, geometry: ScreenGeometry, params: SimParams,
                 rng: np.random.Generator) -> None:
        if not (isinstance(rate_hz, (int, float)) and math.isfinite(rate_hz) and 1 <= rate_hz <= 10000):
            raise GazeDataError(f"synthetic gaze: rate_hz must be within 1..10000, got {rate_hz!r}")
        self.rate, self.geo, self.p, self.rng = float(rate_hz), geometry, params, rng
        drift_step = params.drift_deg_per_s / self.rate
        self.sigma = math.sqrt(max(params.precision_rms_s2s_deg ** 2 - drift_step ** 2, 0.0) / 4.0)
        self.pos: tuple[float, float] | None = None  # clean eye position (deg) at the end of the last dwell

    def dwell(self, target: Target) -> _Dwell:
        """Samples (x_deg, y_deg, pupil, labels) from now until the end of the dwell at ``target``."""
        p, rng = self.p, self.rng
        tx, ty = (float(v) for v in self.geo.px_to_deg(target.x_px, target.y_px))
        aim = np.array([tx + p.accuracy_offset_deg[0], ty + p.accuracy_offset_deg[1]])
        start = aim.copy() if self.pos is None else np.array(self.pos)
        amp0 = float(np.hypot(*(aim - start)))
        land = aim + rng.normal(0.0, p.landing_error_fraction * amp0 / math.sqrt(2), 2)
        delta = land - start
        amp = float(np.hypot(*delta))
        sac_d = float(main_sequence(amp)[0]) if amp > 0.05 else 0.0
        pso_d = p.pso_duration_s if (p.pso and sac_d > 0) else 0.0
        total = sac_d + target.duration_s
        n = max(1, int(math.ceil(total * self.rate - 1e-9)))
        u = np.arange(n) / self.rate
        labels = np.full(n, FIXATION, dtype=np.uint8)
        xy = np.empty((n, 2))

        sac = u < sac_d
        if sac.any():
            s = u[sac] / sac_d
            xy[sac] = start + np.outer(10 * s**3 - 15 * s**4 + 6 * s**5, delta)
            labels[sac] = SACCADE
        after = ~sac
        ua = u[after] - sac_d
        heading = rng.uniform(0, 2 * np.pi)
        drift = np.outer(ua * p.drift_deg_per_s, [math.cos(heading), math.sin(heading)])
        # The landing error is corrected during the fixation (a corrective glide back to the aim
        # point, time constant 80 ms), as corrective saccades and drift do in real fixations.
        settle = np.exp(-ua / 0.08)[:, None]
        xy[after] = aim + (land - aim) * settle + drift
        if pso_d > 0:
            in_pso = after & (u < sac_d + pso_d)
            up = u[in_pso] - sac_d
            gain = min(0.1 + 0.04 * amp, 1.0) * rng.uniform(0.6, 1.4)
            wobble = gain * np.exp(-up / 0.012) * np.sin(2 * np.pi * up / pso_d)
            xy[in_pso] += np.outer(wobble, delta / amp)
            labels[in_pso] = PSO
        self.pos = (float(xy[after][-1, 0]), float(xy[after][-1, 1])) if len(ua) else \
            (float(land[0]), float(land[1]))

        clean = xy.copy()
        pupil = p.pupil_mm + 0.15 * np.sin(2 * np.pi * 0.3 * u + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 0.01, n)
        xy += rng.normal(0.0, self.sigma, (n, 2))
        self._losses(u, sac_d + pso_d, xy, pupil, labels, target.duration_s - pso_d)
        return _Dwell(xy[:, 0], xy[:, 1], pupil, labels, clean)

    def _losses(self, u: F64, fix_start: float, xy: F64, pupil: F64, labels: NDArray[np.uint8],
                fix_len: float) -> None:
        """Blinks (with lid artefact) and short track loss placed inside the fixation."""
        p, rng = self.p, self.rng
        spans: list[tuple[float, float, bool]] = []
        for _ in range(rng.poisson(p.blink_rate_per_min / 60.0 * max(fix_len, 0.0))):
            spans.append((rng.uniform(*p.blink_duration_s), 0.0, True))
        if rng.random() < p.track_loss_prob:
            spans.append((rng.uniform(*p.track_loss_duration_s), 0.0, False))
        pre, post, margin = 0.03, 0.05, 0.02
        taken: list[tuple[float, float]] = []
        for dur, _, blink in spans:
            need = dur + (pre + post if blink else 0.0) + 2 * margin
            if fix_len < need:
                continue
            a = fix_start + margin + rng.uniform(0, fix_len - need)
            b = a + need - 2 * margin
            if any(a < t1 and b > t0 for t0, t1 in taken):
                continue
            taken.append((a, b))
            lo, hi = (a + pre, b - post) if blink else (a, b)
            gone = (u >= lo) & (u < hi)
            if blink:
                depth = rng.uniform(1.5, 3.0)
                down = (u >= a) & (u < lo)
                up = (u >= hi) & (u < b)
                xy[down, 1] += depth * ((u[down] - a) / pre) ** 2
                xy[up, 1] += depth * (1 - (u[up] - hi) / post) ** 2
                pupil[down] *= 1 - 0.4 * (u[down] - a) / pre
                pupil[up] *= 0.6 + 0.4 * (u[up] - hi) / post
                labels[(u >= a) & (u < b)] = BLINK
            else:
                labels[gone] = BLINK
            xy[gone] = np.nan
            pupil[gone] = np.nan


def synthesize_gaze(targets: Iterable[Target], rate_hz: float, geometry: ScreenGeometry,
                    params: SimParams | None = None, rng: np.random.Generator | None = None,
                    t0: float = 0.0) -> SyntheticGaze:
    """Gaze that visits ``targets`` in order, sampled at ``rate_hz`` from time ``t0``.

    The first target is fixated from the first sample (no saccade); every further target is
    reached by a saccade that starts when the previous dwell ends, so the whole recording lasts
    ``sum(durations) + sum(saccade durations)``.
    """
    eye = _Eye(rate_hz, geometry, params or SimParams(), rng if rng is not None else np.random.default_rng())
    parts = [(eye.dwell(tg), i) for i, tg in enumerate(targets)]
    if not parts:
        raise GazeDataError("synthetic gaze: at least one target is needed")
    return _assemble(parts, eye, geometry, t0, 0)


def _assemble(parts: list[tuple[_Dwell, int]], eye: _Eye, geometry: ScreenGeometry, t0: float,
              first_sample: int) -> SyntheticGaze:
    xd = np.concatenate([d.x for d, _ in parts])
    yd = np.concatenate([d.y for d, _ in parts])
    pupil = np.concatenate([d.pupil for d, _ in parts])
    labels = np.concatenate([d.labels for d, _ in parts])
    tix = np.concatenate([np.full(len(d.x), i, dtype=np.int64) for d, i in parts])
    t = t0 + (first_sample + np.arange(len(xd))) / eye.rate
    x, y = geometry.deg_to_px(xd, yd)
    block = GazeBlock(t, x, y, pupil)
    return SyntheticGaze(block, labels, events_from_labels(t, labels, eye.rate), tix)


@dataclass
class GazeStream:
    """Continuous synthetic gaze, produced chunk by chunk for a real-time outlet.

    Targets come from a queue (:meth:`follow` replaces it, e.g. at a trial onset); when it is
    empty the eye fixates ``idle()`` (by default the screen centre, with small re-fixations).
    :meth:`read_until` returns every sample with ``t < t_end``; sample ``k`` is at ``t0 + k/rate``.
    """

    rate_hz: float
    geometry: ScreenGeometry
    params: SimParams = field(default_factory=SimParams)
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    t0: float = 0.0
    idle: Callable[[], Target] | None = None

    def __post_init__(self) -> None:
        self._eye = _Eye(self.rate_hz, self.geometry, self.params, self.rng)
        self._queue: list[Target] = []
        self._current: _Dwell | None = None  # the dwell being emitted
        self._used = 0  # its samples already emitted
        self._emitted = 0  # samples handed out so far
        self._count = 0  # targets started so far (for target_index)

    def _idle_target(self) -> Target:
        if self.idle is not None:
            return self.idle()
        jitter = self.rng.normal(0, 0.3 * self.geometry.px_per_deg, 2)
        return Target(self.geometry.width_px / 2 + jitter[0], self.geometry.height_px / 2 + jitter[1],
                      float(self.rng.uniform(0.4, 0.9)))

    def follow(self, targets: Iterable[Target]) -> None:
        """Drop what is not yet emitted and go to ``targets`` from the current eye position."""
        self._queue = list(targets)
        if self._current is not None and self._used > 0:
            last = self._current.clean[self._used - 1]
            self._eye.pos = (float(last[0]), float(last[1]))
        self._current = None
        self._used = 0

    @property
    def samples_emitted(self) -> int:
        return self._emitted

    def read_until(self, t_end: float) -> SyntheticGaze:
        """All samples with ``t0 + k/rate < t_end`` not yet returned."""
        want = int(math.ceil((t_end - self.t0) * self.rate_hz - 1e-9)) - self._emitted
        parts: list[tuple[_Dwell, int]] = []
        while want > 0:
            if self._current is None:
                target = self._queue.pop(0) if self._queue else self._idle_target()
                self._current = self._eye.dwell(target)
                self._used = 0
                self._count += 1
            take = min(want, len(self._current.x) - self._used)
            parts.append((self._current.cut(self._used, self._used + take), self._count - 1))
            self._used += take
            want -= take
            if self._used == len(self._current.x):
                self._current = None
        if not parts:
            e = GazeBlock.empty()
            return SyntheticGaze(e, np.empty(0, np.uint8), [], np.empty(0, np.int64))
        out = _assemble(parts, self._eye, self.geometry, self.t0, self._emitted)
        self._emitted += len(out.block)
        return out


def plan_scanpath(layout: TrialLayout, rng: np.random.Generator, max_duration_s: float | None = None,
                  returns_to_words: int = 2) -> list[Target]:
    """A plausible reading-then-viewing scanpath over a trial's AOIs (screen px)."""
    targets: list[Target] = []
    words = layout.word_aois
    i = 0
    while i < len(words):
        w = words[i]
        n_chars = len(w.text)
        if n_chars <= 3 and i > 0 and rng.random() < 0.35:
            i += 1  # short words are often skipped
            continue
        x0, y0, x1, y1 = w.bbox
        x = x0 + (x1 - x0) * rng.uniform(0.3, 0.5)  # preferred viewing location, left of centre
        y = (y0 + y1) / 2 + rng.normal(0, (y1 - y0) * 0.1)
        targets.append(Target(x, y, float(np.clip(0.18 + 0.008 * n_chars + rng.normal(0, 0.02), 0.12, 0.35))))
        if i > 1 and rng.random() < 0.1:
            back = words[i - int(rng.integers(1, 3))]
            targets.append(Target(*back.centre, float(rng.uniform(0.18, 0.25))))
        i += 1
    cx, cy = layout.screen_px[0] / 2, layout.screen_px[1] / 2
    objects = list(layout.object_aois)

    def salience(a: Aoi) -> float:
        bx0, by0, bx1, by1 = a.bbox
        area = (bx1 - bx0) * (by1 - by0)
        dist = math.hypot((bx0 + bx1) / 2 - cx, (by0 + by1) / 2 - cy)
        return area / (1.0 + dist / 200.0)

    objects.sort(key=salience, reverse=True)
    if not objects:
        ix0, iy0, ix1, iy1 = layout.image_rect
        for fx, fy in ((0.5, 0.5), (0.3, 0.4), (0.7, 0.6)):
            targets.append(Target(ix0 + (ix1 - ix0) * fx, iy0 + (iy1 - iy0) * fy, float(rng.uniform(0.25, 0.4))))
    for a in objects:
        bx0, by0, bx1, by1 = a.bbox
        x = (bx0 + bx1) / 2 + rng.normal(0, (bx1 - bx0) * 0.1)
        y = (by0 + by1) / 2 + rng.normal(0, (by1 - by0) * 0.1)
        targets.append(Target(x, y, float(rng.uniform(0.25, 0.4))))
    for _ in range(min(returns_to_words, len(words))):
        w = words[int(rng.integers(0, len(words)))]
        targets.append(Target(*w.centre, float(rng.uniform(0.2, 0.3))))
        if objects:
            a = objects[int(rng.integers(0, len(objects)))]
            targets.append(Target(*a.centre, float(rng.uniform(0.25, 0.4))))
    if max_duration_s is not None:
        kept, total = [], 0.0
        for tg in targets:
            if total + tg.duration_s > max_duration_s:
                break
            kept.append(tg)
            total += tg.duration_s + 0.04
        targets = kept
    return targets
