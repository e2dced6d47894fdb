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

The :class:`EventAssembler` is sequential (a compiled loop over the samples,
:mod:`app.detection.assembly`) and is fed the same codes, in the same order, by the offline and the
online detectors, with its state carried between chunks, so both give identical events.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze_events import EVENT_KINDS, GazeEvent
from app.core.geometry import ScreenGeometry
from app.detection.assembly import FIX as FIX  # the per-sample codes, defined once
from app.detection.assembly import LOSS as LOSS
from app.detection.assembly import NEV, NRUN, assemble, count_changes, new_state, rows_needed
from app.detection.assembly import PSO as PSO
from app.detection.assembly import SACC as SACC
from app.detection.assembly import UNDEF as UNDEF

F64 = NDArray[np.float64]

# Internal per-sample codes used between a detector and the assembler.


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


class EventAssembler:
    """Sequential post-processing of per-sample codes into events (see the module docstring).

    The state of :func:`app.detection.assembly.assemble` (the run in progress, the last fixation and
    blink, the held saccade-like runs) is carried between :meth:`push` calls, so pushing a recording in
    one piece (offline) or chunk by chunk (online) gives the same events.
    """

    def __init__(self, params: PostParams, geometry: ScreenGeometry, rate_hz: float) -> None:
        self.p = params
        self._post = np.array([params.min_fixation_s, params.merge_gap_s, params.merge_angle_deg,
                               params.blink_min_s, params.blink_max_s, 1.0 / rate_hz])
        cmx, cmy = geometry.cm_per_px
        self._geo = np.array([geometry.width_px / 2, geometry.height_px / 2, cmx, cmy, geometry.distance_cm])
        self._state, self._flags = new_state()
        self._tables: list[F64] = []

    def push(self, codes: NDArray[np.int8], t: F64, x: F64, y: F64, v: F64, online: bool = False,
             final: bool = False) -> None:
        """The next samples' codes with their times, pixel positions and speeds. ``online``: afterwards
        release a fixation that can no longer merge with a later one; ``final``: the stream ends here."""
        c = np.ascontiguousarray
        codes = c(codes, dtype=np.int8)
        changes = count_changes(codes)
        need = rows_needed(self._flags, changes)
        if need > len(self._state):
            grown = np.zeros((max(need, 2 * len(self._state)), NRUN))
            grown[:len(self._state)] = self._state
            self._state = grown
        table = assemble(codes, c(t, dtype=np.float64), c(x, dtype=np.float64), c(y, dtype=np.float64),
                         c(v, dtype=np.float64), self._state, self._flags, self._post, self._geo, online, final, changes)
        if len(table):
            self._tables.append(table)

    def finish(self) -> None:
        """The stream has ended: everything pending becomes an event."""
        self.push(np.empty(0, np.int8), *(np.empty(0),) * 4, final=True)

    def take_table(self) -> F64:
        """The events completed since the last take, one row each (:data:`app.detection.assembly.EVENT_FIELDS`)."""
        tables, self._tables = self._tables, []
        return tables[0] if len(tables) == 1 else np.concatenate(tables) if tables else np.empty((0, NEV))

    def take(self) -> list[GazeEvent]:
        return events_from_table(self.take_table())


_KINDS = np.array(EVENT_KINDS)


def events_from_table(table: F64) -> list[GazeEvent]:
    """:class:`GazeEvent` objects from an event table, validated as a whole (the checks of
    ``GazeEvent.__post_init__`` on the columns at once, then the objects without repeating them)."""
    if len(table) == 0:
        return []
    kind = table[:, 0].astype(np.int64)
    onset, offset = table[:, 1], table[:, 2]
    start, stop = table[:, 7].astype(np.int64), table[:, 8].astype(np.int64)
    if not (np.all((kind >= 0) & (kind < len(EVENT_KINDS))) and np.all(np.isfinite(onset) & np.isfinite(offset))
            and np.all(offset >= onset) and np.all((start >= 0) & (start <= stop))):
        raise GazeDataError("gaze events: the event table holds an impossible event")  # a bug, not bad input
    new = object.__new__
    out: list[GazeEvent] = []
    append = out.append
    for k, on, off, du, x, y, amp, peak, a, b, x0, y0, x1, y1 in zip(
            _KINDS[kind].tolist(), onset.tolist(), offset.tolist(), (offset - onset).tolist(), table[:, 3].tolist(),
            table[:, 4].tolist(), table[:, 5].tolist(), table[:, 6].tolist(), start.tolist(), stop.tolist(),
            table[:, 9].tolist(), table[:, 10].tolist(), table[:, 11].tolist(), table[:, 12].tolist(), strict=True):
        e = new(GazeEvent)
        d = e.__dict__  # the fields of the frozen dataclass, set once (as its __init__ would)
        d["kind"], d["onset"], d["offset"], d["duration"], d["x"], d["y"] = k, on, off, du, x, y
        d["amplitude_deg"], d["peak_velocity_deg_s"], d["start_index"], d["stop_index"] = amp, peak, a, b
        d["start_x"], d["start_y"], d["end_x"], d["end_y"] = x0, y0, x1, y1
        append(e)
    return out
