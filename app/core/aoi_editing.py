"""The AOIs of a protocol as an editable document: draw, move, resize, relabel, delete, undo.

Pure Python (napari-style): the document holds the state and tells its listeners when it changed;
the AOI editor widget only draws it and turns mouse gestures into the operations below. Saving
back to the protocol's TOML (keeping its comments) is :func:`app.formats.protocol_toml.save_aois`.

Coordinates are the image's own pixels, as in the protocol file; every shape is kept inside the image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from app.core.errors import ProtocolError
from app.core.protocol import Protocol

Kind = Literal["box", "polygon"]
Point = tuple[float, float]
MAX_LABEL = 64


@dataclass(frozen=True)
class EditableAoi:
    """One region: a box ``((x0, y0), (x1, y1))`` with x0 < x1, y0 < y1, or a polygon of >= 3 vertices."""

    label: str
    kind: Kind
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        label = self.label
        if not label.strip() or len(label) > MAX_LABEL or any(c in label for c in "\r\n\t\0"):
            raise ProtocolError(f"AOI label {label!r}: expected 1-{MAX_LABEL} characters on one line")
        if self.kind == "box":
            (x0, y0), (x1, y1) = self.points
            if not (x0 < x1 and y0 < y1):
                raise ProtocolError(f"AOI {label!r}: a box needs x0 < x1 and y0 < y1, got {self.points}")
        elif self.kind == "polygon":
            if len(self.points) < 3:
                raise ProtocolError(f"AOI {label!r}: a polygon needs at least 3 points")
        else:
            raise ProtocolError(f"AOI {label!r}: kind {self.kind!r} is not box or polygon")

    @property
    def vertices(self) -> tuple[Point, ...]:
        """The outline: a box's four corners (clockwise from top-left) or the polygon's points."""
        if self.kind == "box":
            (x0, y0), (x1, y1) = self.points
            return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        return self.points

    def contains(self, x: float, y: float) -> bool:
        """Even-odd rule: inside the outline."""
        inside = False
        pts = self.vertices
        for (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1], strict=True):
            if (ya > y) != (yb > y) and x < xa + (y - ya) * (xb - xa) / (yb - ya):
                inside = not inside
        return inside

    def moved(self, dx: float, dy: float, size: tuple[int, int]) -> EditableAoi:
        """Shifted by (dx, dy), stopped at the image's edges (the shape keeps its size)."""
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        dx = min(max(dx, -min(xs)), size[0] - max(xs))
        dy = min(max(dy, -min(ys)), size[1] - max(ys))
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))

    def with_vertex(self, index: int, x: float, y: float, size: tuple[int, int]) -> EditableAoi:
        """Vertex ``index`` of :attr:`vertices` dragged to (x, y) inside the image; a box stays a box."""
        x, y = _clamp((x, y), size)
        if self.kind == "polygon":
            pts = list(self.points)
            pts[index] = (x, y)
            return replace(self, points=tuple(pts))
        corners = list(self.vertices)
        opposite = corners[(index + 2) % 4]
        x0, x1 = sorted((x, opposite[0]))
        y0, y1 = sorted((y, opposite[1]))
        if x1 - x0 < 1 or y1 - y0 < 1:
            return self
        return replace(self, points=((x0, y0), (x1, y1)))


@dataclass
class TrialAois:
    """The AOIs of one trial, addressed in the file as ``[[practice]]`` or ``[[trials]]`` number ``index``."""

    table: Literal["practice", "trials"]
    index: int
    trial_id: str
    image: Path
    image_size: tuple[int, int]
    aois: list[EditableAoi]


def _clamp(p: Point, size: tuple[int, int]) -> Point:
    return (min(max(p[0], 0.0), float(size[0])), min(max(p[1], 0.0), float(size[1])))


def _editable(label: str, polygon: tuple[Point, ...]) -> EditableAoi:
    xs, ys = sorted({p[0] for p in polygon}), sorted({p[1] for p in polygon})
    corners = ((xs[0], ys[0]), (xs[-1], ys[0]), (xs[-1], ys[-1]), (xs[0], ys[-1]))
    if len(polygon) == 4 and len(xs) == 2 and len(ys) == 2 and tuple(polygon) == corners:
        return EditableAoi(label, "box", ((xs[0], ys[0]), (xs[1], ys[1])))
    return EditableAoi(label, "polygon", tuple(polygon))


class AoiDocument:
    """Every trial's AOIs with one undo history; listeners are called with the trial number that changed."""

    def __init__(self, path: Path, trials: list[TrialAois]) -> None:
        if not trials:
            raise ProtocolError(f"{path}: the protocol has no trials to edit")
        self.path = path
        self.trials = trials
        self.dirty = False
        self._undo: list[tuple[int, list[EditableAoi]]] = []
        self.listeners: list[Callable[[int], None]] = []

    @classmethod
    def from_protocol(cls, protocol: Protocol) -> AoiDocument:
        trials, counts = [], {"practice": 0, "trials": 0}
        for t in protocol.all_trials:
            table: Literal["practice", "trials"] = "practice" if t.practice else "trials"
            trials.append(TrialAois(table, counts[table], t.trial_id, t.image, t.image_size,
                                    [_editable(a.label, a.polygon) for a in t.aois]))
            counts[table] += 1
        return cls(protocol.path, trials)

    # -- operations (each one undoable) --------------------------------------------------------
    def add(self, trial: int, aoi: EditableAoi) -> int:
        t = self._change(trial)
        t.aois.append(self._inside(t, aoi))
        self._changed(trial)
        return len(t.aois) - 1

    def set(self, trial: int, index: int, aoi: EditableAoi, merge: bool = False) -> None:
        """Replace AOI ``index``; ``merge`` folds this step into the previous undo step (one drag = one undo)."""
        t = self.trials[trial]
        if not merge or not self._undo or self._undo[-1][0] != trial:
            self._change(trial)
        t.aois[index] = self._inside(t, aoi)
        self._changed(trial)

    def relabel(self, trial: int, index: int, label: str) -> None:
        aoi = self.trials[trial].aois[index]
        if label.strip() != aoi.label:
            self.set(trial, index, replace(aoi, label=label.strip()))

    def remove(self, trial: int, index: int) -> None:
        t = self._change(trial)
        del t.aois[index]
        self._changed(trial)

    def undo(self) -> int | None:
        """Undo the last operation; returns the trial it changed (None when there is nothing to undo)."""
        if not self._undo:
            return None
        trial, aois = self._undo.pop()
        self.trials[trial].aois = aois
        self.dirty = bool(self._undo)
        self._changed(trial)
        return trial

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def saved(self) -> None:
        self.dirty = False

    def hit(self, trial: int, x: float, y: float) -> int | None:
        """The topmost (last drawn) AOI under (x, y), or None."""
        aois = self.trials[trial].aois
        return next((i for i in range(len(aois) - 1, -1, -1) if aois[i].contains(x, y)), None)

    # -- internals ------------------------------------------------------------------------------
    def _change(self, trial: int) -> TrialAois:
        t = self.trials[trial]
        self._undo.append((trial, list(t.aois)))
        self.dirty = True
        return t

    @staticmethod
    def _inside(t: TrialAois, aoi: EditableAoi) -> EditableAoi:
        points = tuple(_clamp(p, t.image_size) for p in aoi.points)
        return replace(aoi, points=points)

    def _changed(self, trial: int) -> None:
        for listener in list(self.listeners):
            listener(trial)
