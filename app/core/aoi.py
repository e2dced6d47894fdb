"""Fixations onto areas of interest (caption words, image objects) and per-trial AOI metrics.

Mapping (pure geometry): a fixation belongs to the AOI of the trial layout whose polygon
contains its position; where AOIs are nested (an object inside a larger one) the smallest by
area wins. A fixation outside every polygon goes to the nearest AOI within ``margin_deg``
(eye trackers are accurate to 0.5-1 deg, so word boxes get a tolerance; Orquin, Ashby &
Clarke 2016, "Areas of interest as a signal detection problem in behavioral eye-tracking
research", J Behav Decis Making 29:103), else it is off (-1).

Metrics per trial follow Holmqvist et al. 2011 ("Eye tracking", ch. 6-7): dwell time (sum of
the durations of the fixations on the AOI), time to first fixation (from trial onset),
fixation count, revisits (visits after the first; a visit is a run of consecutive fixations on
the AOI) and the transition matrix between consecutive fixations (off as the last row and
column; the diagonal counts refixations within one AOI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze_events import GazeEvent
from app.core.geometry import ScreenGeometry
from app.core.layout import Aoi, TrialLayout

OFF = -1
F64 = NDArray[np.float64]


def polygon_area(polygon: Sequence[tuple[float, float]]) -> float:
    """Unsigned area by the shoelace formula."""
    p = np.asarray(polygon, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def contains(polygon: Sequence[tuple[float, float]], x: F64, y: F64) -> NDArray[np.bool_]:
    """Points inside the polygon (even-odd ray casting; points on an edge may fall either way)."""
    p = np.asarray(polygon, dtype=np.float64)
    inside = np.zeros(np.shape(x), dtype=bool)
    for (x1, y1), (x2, y2) in zip(p, np.roll(p, -1, axis=0), strict=True):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xc)
    return inside


def distance_to_polygon(polygon: Sequence[tuple[float, float]], x: F64, y: F64) -> F64:
    """Euclidean distance (px) from points to the polygon's outline (0 inside)."""
    p = np.asarray(polygon, dtype=np.float64)
    best = np.full(np.shape(x), np.inf)
    for (x1, y1), (x2, y2) in zip(p, np.roll(p, -1, axis=0), strict=True):
        dx, dy = x2 - x1, y2 - y1
        seg = dx * dx + dy * dy
        u = np.clip(((x - x1) * dx + (y - y1) * dy) / seg, 0.0, 1.0) if seg > 0 else np.zeros(np.shape(x))
        best = np.minimum(best, np.hypot(x - (x1 + u * dx), y - (y1 + u * dy)))
    return np.where(contains(polygon, x, y), 0.0, best)


class AoiIndex:
    """The AOIs of one layout prepared for mapping: every polygon edge in one array, areas computed once.

    :meth:`map` gives exactly what :func:`map_points` did edge by edge (the same arithmetic on each edge),
    at a fraction of the cost for a few points (the live pipeline maps one fixation at a time).
    """

    def __init__(self, aois: Sequence[Aoi], geometry: ScreenGeometry, margin_deg: float = 0.5) -> None:
        if not (math.isfinite(margin_deg) and margin_deg >= 0):
            raise GazeDataError(f"AOI mapping: margin_deg must be a number >= 0, got {margin_deg!r}")
        self.n = len(aois)
        self.margin_px = margin_deg * geometry.px_per_deg
        self.areas = np.array([polygon_area(a.polygon) if len(a.polygon) else 0.0 for a in aois], dtype=np.float64)
        polys = [np.asarray(a.polygon, dtype=np.float64).reshape(-1, 2) for a in aois]
        self._with_edges = np.array([i for i, p in enumerate(polys) if len(p)], dtype=np.intp)
        kept = [polys[i] for i in self._with_edges]
        self._first = np.cumsum([0] + [len(p) for p in kept[:-1]]).astype(np.intp)  # first edge of each AOI
        e0 = np.concatenate(kept) if kept else np.empty((0, 2))
        e1 = np.concatenate([np.roll(p, -1, axis=0) for p in kept]) if kept else np.empty((0, 2))
        # [E, 1] columns, broadcast against the points [N]
        self._x1, self._y1, self._x2, self._y2 = e0[:, :1], e0[:, 1:], e1[:, :1], e1[:, 1:]
        self._dx, self._dy = self._x2 - self._x1, self._y2 - self._y1
        self._seg = self._dx * self._dx + self._dy * self._dy

    def distances(self, x: F64, y: F64) -> F64:
        """[A, N] distance (px) from each point to each AOI's outline, 0 inside (as :func:`distance_to_polygon`)."""
        dist = np.full((self.n, x.size), np.inf)
        if len(self._with_edges) == 0:
            return dist
        x1, y1, dx, dy, seg = self._x1, self._y1, self._dx, self._dy, self._seg
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 1e308 from a damaged file
            u = np.where(seg > 0, np.clip(((x - x1) * dx + (y - y1) * dy) / seg, 0.0, 1.0), 0.0)
            edge_dist = np.hypot(x - (x1 + u * dx), y - (y1 + u * dy))  # [E, N]
            crosses = (y1 > y) != (self._y2 > y)
            xc = x1 + (y - y1) * dx / dy
        hits = (crosses & (x < xc)).astype(np.int64)
        inside = np.add.reduceat(hits, self._first, axis=0) % 2 == 1  # even-odd rule, as contains()
        dist[self._with_edges] = np.where(inside, 0.0, np.minimum.reduceat(edge_dist, self._first, axis=0))
        return dist

    def map(self, x: F64, y: F64) -> NDArray[np.int64]:
        """Index into the AOIs for each point (pixels), or ``OFF`` (-1)."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        y = np.atleast_1d(np.asarray(y, dtype=np.float64))
        out = np.full(x.shape, OFF, dtype=np.int64)
        if self.n == 0 or x.size == 0:
            return out
        dist = self.distances(x, y)
        inside = dist == 0.0
        # inside: smallest area; else nearest within the margin (ties: smallest area)
        key_inside = np.where(inside, self.areas[:, None], np.inf)
        key_near = np.where(dist <= self.margin_px, dist + self.areas[:, None] * 1e-12, np.inf)
        any_inside = inside.any(axis=0)
        best = np.where(any_inside, np.argmin(key_inside, axis=0), np.argmin(key_near, axis=0))
        found = any_inside | np.isfinite(key_near.min(axis=0))
        finite = np.isfinite(x) & np.isfinite(y)
        out[found & finite] = best[found & finite]
        return out


def map_points(x: F64, y: F64, aois: Sequence[Aoi], geometry: ScreenGeometry, margin_deg: float = 0.5
               ) -> NDArray[np.int64]:
    """Index into ``aois`` for each point (pixels), or ``OFF`` (-1)."""
    return AoiIndex(aois, geometry, margin_deg).map(x, y)


def map_fixations(fixations: Sequence[GazeEvent], layout: TrialLayout, geometry: ScreenGeometry,
                  margin_deg: float = 0.5, index: AoiIndex | None = None) -> NDArray[np.int64]:
    """The AOI (index into ``layout.aois``, or -1 for off) of each fixation's mean position.

    ``index``: ``AoiIndex(layout.aois, geometry, margin_deg)`` prepared once, for callers that map often.
    """
    if any(f.kind != "fixation" for f in fixations):
        raise GazeDataError("AOI mapping: only fixation events can be mapped onto AOIs")
    x = np.array([f.x for f in fixations], dtype=np.float64)
    y = np.array([f.y for f in fixations], dtype=np.float64)
    return (index or AoiIndex(layout.aois, geometry, margin_deg)).map(x, y)


@dataclass(frozen=True)
class TrialAoiMetrics:
    """Per-AOI figures of one trial, in the order of ``layout.aois``; ``off`` separately."""

    aoi_names: tuple[str, ...]
    dwell_s: tuple[float, ...]
    first_fixation_s: tuple[float, ...]  # from trial onset; NaN when never fixated
    fixation_count: tuple[int, ...]
    revisits: tuple[int, ...]
    transitions: NDArray[np.int64]  # [A + 1, A + 1], last index = off
    off_dwell_s: float
    off_count: int

    def __post_init__(self) -> None:
        a = len(self.aoi_names)
        if not (len(self.dwell_s) == len(self.first_fixation_s) == len(self.fixation_count) == len(self.revisits) == a):
            raise GazeDataError("AOI metrics: one value per AOI is needed in every field")
        if self.transitions.shape != (a + 1, a + 1):
            raise GazeDataError(f"AOI metrics: transitions must be {(a + 1, a + 1)}, got {self.transitions.shape}")


def trial_metrics(fixations: Sequence[GazeEvent], hits: Sequence[int], layout: TrialLayout,
                  trial_onset: float) -> TrialAoiMetrics:
    """Dwell, first-fixation time, count, revisits and transitions of one trial's fixations (time order)."""
    n_aoi = len(layout.aois)
    if len(fixations) != len(hits):
        raise GazeDataError(f"AOI metrics: {len(fixations)} fixations but {len(hits)} AOI hits")
    if any(h < OFF or h >= n_aoi for h in hits):
        raise GazeDataError(f"AOI metrics: hits must be -1 or an index below {n_aoi}")
    onsets = [f.onset for f in fixations]
    if any(b < a for a, b in zip(onsets, onsets[1:], strict=False)):
        raise GazeDataError("AOI metrics: fixations must be in time order")
    dwell = [0.0] * n_aoi
    first = [math.nan] * n_aoi
    count = [0] * n_aoi
    visits = [0] * n_aoi
    trans = np.zeros((n_aoi + 1, n_aoi + 1), dtype=np.int64)
    off_dwell, off_count = 0.0, 0
    prev: int | None = None
    for f, h in zip(fixations, hits, strict=True):
        h = int(h)
        if h == OFF:
            off_dwell += f.duration
            off_count += 1
        else:
            dwell[h] += f.duration
            count[h] += 1
            if math.isnan(first[h]):
                first[h] = f.onset - trial_onset
            if prev != h:
                visits[h] += 1
        if prev is not None:
            trans[prev, h] += 1  # OFF (-1) indexes the last row/column
        prev = h
    return TrialAoiMetrics(tuple(a.name for a in layout.aois), tuple(dwell), tuple(first), tuple(count),
                           tuple(max(v - 1, 0) for v in visits), trans, off_dwell, off_count)
