"""The compiled post-processing (numba): per-sample codes -> runs -> events, with array state.

One loop over the samples builds the runs of equal codes (sums for the mean position, the peak
velocity, first and last samples) and feeds every completed run to the sequential post-processing
of :mod:`app.detection.segments` (merging, minimum duration, blinks). All state lives in two arrays
(``state``: the run in progress, the last fixation, the last blink, the held saccade-like runs;
``flags``: which of them exist, how many are held, the next sample index), so the offline detector
(one call over the whole recording) and the online one (one call per chunk, the state carried
between calls) run the same operations in the same order: every sum is accumulated sample by
sample whatever the chunking, so their events are identical to the last bit.

Rows of ``state`` and of the event table hold :data:`RUN_FIELDS` / :data:`EVENT_FIELDS` as float64
(sample indices are exact in float64 up to 2**53).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

UNDEF, FIX, SACC, PSO, LOSS = 0, 1, 2, 3, 9  # the per-sample codes (as in app.detection.segments)
#: event kind codes of the table, in the order of :data:`app.core.gaze_events.EVENT_KINDS`
K_FIX, K_SACC, K_PSO, K_BLINK, K_LOSS = 0, 1, 2, 3, 4
RUN_FIELDS = ("code", "start", "stop", "onset", "offset", "sx", "sy", "n", "peak", "x0", "y0", "x1", "y1")
EVENT_FIELDS = ("kind", "onset", "offset", "x", "y", "amplitude_deg", "peak_velocity_deg_s", "start_index",
                "stop_index", "start_x", "start_y", "end_x", "end_y")
NRUN, NEV = len(RUN_FIELDS), len(EVENT_FIELDS)
OPEN, FIXR, BLINK, HELD = 0, 1, 2, 3  # rows of state: the run in progress, last fixation, last blink, held from 3
F_OPEN, F_FIX, F_BLINK, F_HELD, F_NEXT = 0, 1, 2, 3, 4  # flags
# post-processing parameters (a float64 array): min fixation, merge gap, merge angle, blink min / max, dt
P_MINFIX, P_GAP, P_ANGLE, P_BMIN, P_BMAX, P_DT = 0, 1, 2, 3, 4, 5
# geometry (a float64 array): screen centre px, cm per px, distance cm
G_CX, G_CY, G_CMX, G_CMY, G_D = 0, 1, 2, 3, 4


def new_state() -> tuple[F64, NDArray[np.int64]]:
    """Empty assembler state: no run, fixation, blink or held runs; the next sample is sample 0."""
    return np.zeros((HELD + 8, NRUN)), np.zeros(5, dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def angle_deg(geo: F64, x1: float, y1: float, x2: float, y2: float) -> float:
    """Visual angle (deg) between two screen points (:meth:`ScreenGeometry.angle_between_px`, scalar)."""
    cx, cy, cmx, cmy, d = geo[G_CX], geo[G_CY], geo[G_CMX], geo[G_CMY], geo[G_D]
    ax, ay, bx, by = (x1 - cx) * cmx, (y1 - cy) * cmy, (x2 - cx) * cmx, (y2 - cy) * cmy
    cross = math.sqrt((ay * d - d * by) ** 2 + (d * bx - ax * d) ** 2 + (ax * by - ay * bx) ** 2)
    return math.degrees(math.atan2(cross, ax * bx + ay * by + d * d))


@numba.njit(cache=True, nogil=True)
def _absorb(state: F64, a: int, b: int) -> None:
    """Run ``a`` takes in the later run ``b`` (its end, sums and peak)."""
    state[a, 2], state[a, 4] = state[b, 2], state[b, 4]
    state[a, 5] += state[b, 5]
    state[a, 6] += state[b, 6]
    state[a, 7] += state[b, 7]
    if state[b, 8] > state[a, 8]:  # as Python's max(a, b): a NaN in b leaves a
        state[a, 8] = state[b, 8]
    state[a, 11], state[a, 12] = state[b, 11], state[b, 12]


@numba.njit(cache=True, nogil=True)
def _emit(state: F64, r: int, kind: int, geo: F64, ev: F64, m: int) -> int:
    n = state[r, 7]
    lost = kind in (K_BLINK, K_LOSS)
    moving = kind in (K_SACC, K_PSO)
    ev[m, 0] = kind
    ev[m, 1], ev[m, 2] = state[r, 3], state[r, 4]
    ev[m, 3] = math.nan if lost or n == 0 else state[r, 5] / n
    ev[m, 4] = math.nan if lost or n == 0 else state[r, 6] / n
    ev[m, 5] = angle_deg(geo, state[r, 9], state[r, 10], state[r, 11], state[r, 12]) if moving else math.nan
    ev[m, 6] = math.nan if lost else state[r, 8]
    ev[m, 7], ev[m, 8] = state[r, 1], state[r, 2]
    ev[m, 9], ev[m, 10], ev[m, 11], ev[m, 12] = state[r, 9], state[r, 10], state[r, 11], state[r, 12]
    return m + 1


@numba.njit(cache=True, nogil=True)
def _mergeable(state: F64, a: int, b: int, p: F64, geo: F64) -> bool:
    if state[b, 3] - state[a, 4] >= p[P_GAP]:
        return False
    n = state[a, 7]
    ax = state[a, 5] / n if n else math.nan
    ay = state[a, 6] / n if n else math.nan
    return angle_deg(geo, ax, ay, state[b, 9], state[b, 10]) < p[P_ANGLE]


@numba.njit(cache=True, nogil=True)
def _release_fix(state: F64, flags: NDArray[np.int64], p: F64, geo: F64, ev: F64, m: int) -> int:
    if flags[F_FIX]:
        flags[F_FIX] = 0
        if state[FIXR, 4] - state[FIXR, 3] >= p[P_MINFIX]:
            m = _emit(state, FIXR, K_FIX, geo, ev, m)
    return m


@numba.njit(cache=True, nogil=True)
def _release_held(state: F64, flags: NDArray[np.int64], geo: F64, ev: F64, m: int) -> int:
    for h in range(HELD, HELD + flags[F_HELD]):
        c = state[h, 0]
        if c == SACC:
            m = _emit(state, h, K_SACC, geo, ev, m)
        elif c == PSO:
            m = _emit(state, h, K_PSO, geo, ev, m)
    flags[F_HELD] = 0
    return m


@numba.njit(cache=True, nogil=True)
def _release_blink(state: F64, flags: NDArray[np.int64], geo: F64, ev: F64, m: int) -> int:
    if flags[F_BLINK]:
        flags[F_BLINK] = 0
        m = _emit(state, BLINK, K_BLINK, geo, ev, m)
    return m


@numba.njit(cache=True, nogil=True)
def _feed(state: F64, flags: NDArray[np.int64], p: F64, geo: F64, ev: F64, m: int) -> int:
    """Post-process the completed run in row OPEN (see the module docstring of app.detection.segments)."""
    if state[OPEN, 8] == -math.inf:  # no valid finite speed in the run
        state[OPEN, 8] = math.nan
    code = state[OPEN, 0]
    if code == LOSS:
        duration = state[OPEN, 4] - state[OPEN, 3]
        if not (p[P_BMIN] <= duration <= p[P_BMAX]):
            m = _release_fix(state, flags, p, geo, ev, m)
            m = _release_held(state, flags, geo, ev, m)
            m = _release_blink(state, flags, geo, ev, m)
            return _emit(state, OPEN, K_LOSS, geo, ev, m)
        # saccade-like runs right before the blink are the lid's artefact: they join it
        blink = OPEN
        while flags[F_HELD] > 0:
            h = HELD + flags[F_HELD] - 1
            if not ((state[h, 0] == SACC or state[h, 0] == PSO) and state[h, 2] == state[blink, 1]):
                break
            _absorb(state, h, blink)
            state[h, 0] = LOSS
            flags[F_HELD] -= 1
            blink = h
        row = state[blink].copy()  # the held rows beyond the count are free: keep the blink before releasing
        m = _release_fix(state, flags, p, geo, ev, m)
        m = _release_held(state, flags, geo, ev, m)
        m = _release_blink(state, flags, geo, ev, m)
        state[BLINK] = row
        flags[F_BLINK] = 1
        return m
    if code == FIX:
        m = _release_blink(state, flags, geo, ev, m)
        if flags[F_FIX] and _mergeable(state, FIXR, OPEN, p, geo):
            _absorb(state, FIXR, OPEN)
            flags[F_HELD] = 0
        else:
            m = _release_fix(state, flags, p, geo, ev, m)
            m = _release_held(state, flags, geo, ev, m)
            state[FIXR] = state[OPEN]
            flags[F_FIX] = 1
        return m
    # saccade, PSO, undefined
    if flags[F_BLINK] and code != UNDEF and state[OPEN, 1] == state[BLINK, 2]:
        _absorb(state, BLINK, OPEN)
        return m
    m = _release_blink(state, flags, geo, ev, m)
    state[HELD + flags[F_HELD]] = state[OPEN]  # assemble's caller made room (state_rows_needed)
    flags[F_HELD] += 1
    return m


@numba.njit(cache=True, nogil=True)
def assemble(codes: NDArray[np.int8], t: F64, x: F64, y: F64, v: F64, state: F64, flags: NDArray[np.int64],
             p: F64, geo: F64, online: bool, final: bool, changes: int) -> F64:
    """Feed the next samples' codes (with their times, pixel positions and speeds); returns the table of the
    events completed (one row per event). ``changes``: :func:`count_changes` of ``codes``; ``state`` must have
    :func:`rows_needed` rows (room for every run of this call to be held).

    ``online``: afterwards release a fixation that can no longer merge (no later run starts before the
    run in progress); ``final``: the stream ends here, everything pending becomes an event.
    """
    n = len(codes)
    ev = np.empty((changes + flags[F_HELD] + 4, NEV))
    m = 0
    dt = p[P_DT]
    index0 = flags[F_NEXT]
    # the run in progress in local variables (registers), written back to state[OPEN] when it ends
    code, sx, sy, cnt, peak = state[OPEN, 0], state[OPEN, 5], state[OPEN, 6], state[OPEN, 7], state[OPEN, 8]
    have = flags[F_OPEN] != 0
    for i in range(n):
        c = codes[i]
        if not (have and code == c):
            if have:
                state[OPEN, 0], state[OPEN, 5], state[OPEN, 6], state[OPEN, 7], state[OPEN, 8] = code, sx, sy, cnt, peak
                state[OPEN, 2], state[OPEN, 4] = index0 + i, t[i - 1] + dt if i > 0 else state[OPEN, 4]
                if i > 0:
                    state[OPEN, 11], state[OPEN, 12] = x[i - 1], y[i - 1]
                m = _feed(state, flags, p, geo, ev, m)
            have = True
            code, sx, sy, cnt, peak = c, 0.0, 0.0, 0.0, -math.inf
            state[OPEN, 1], state[OPEN, 3] = index0 + i, t[i]
            state[OPEN, 9], state[OPEN, 10] = x[i], y[i]
        if c != LOSS:
            sx += x[i]
            sy += y[i]
            cnt += 1.0
            if v[i] > peak:  # NaN never is
                peak = v[i]
    if have:
        flags[F_OPEN] = 1
        state[OPEN, 0], state[OPEN, 5], state[OPEN, 6], state[OPEN, 7], state[OPEN, 8] = code, sx, sy, cnt, peak
        if n > 0:
            state[OPEN, 2], state[OPEN, 4] = index0 + n, t[n - 1] + dt
            state[OPEN, 11], state[OPEN, 12] = x[n - 1], y[n - 1]
    flags[F_NEXT] = index0 + n
    if final:
        if flags[F_OPEN]:
            flags[F_OPEN] = 0
            m = _feed(state, flags, p, geo, ev, m)
        m = _release_fix(state, flags, p, geo, ev, m)
        m = _release_held(state, flags, geo, ev, m)
        m = _release_blink(state, flags, geo, ev, m)
    elif online and flags[F_OPEN] and flags[F_FIX] and n > 0:
        horizon = state[OPEN, 3] if state[OPEN, 0] == FIX else t[n - 1]
        if horizon - state[FIXR, 4] >= p[P_GAP] or (state[OPEN, 0] == FIX and not _mergeable(state, FIXR, OPEN,
                                                                                           p, geo)):
            m = _release_fix(state, flags, p, geo, ev, m)
    return ev[:m]


@numba.njit(cache=True, nogil=True)
def count_changes(codes: NDArray[np.int8]) -> int:
    """How many samples differ in code from the one before (runs - 1)."""
    c = 0
    for i in range(1, len(codes)):
        if codes[i] != codes[i - 1]:
            c += 1
    return c


def rows_needed(flags: NDArray[np.int64], changes: int) -> int:
    """Rows of state that :func:`assemble` may use: the fixed rows, the held runs and every run of the call."""
    return HELD + int(flags[F_HELD]) + changes + 2


@numba.njit(cache=True, nogil=True)
def labels_from_table(n: int, ev: F64, first_index: int) -> NDArray[np.uint8]:
    """Per-sample label codes (0 undefined, 1 fixation, 2 saccade, 3 PSO, 5 blink) from an event table."""
    labels = np.zeros(n, dtype=np.uint8)
    for r in range(ev.shape[0]):
        k = int(ev[r, 0])
        code = 1 if k == K_FIX else 2 if k == K_SACC else 3 if k == K_PSO else 5 if k == K_BLINK else 0
        a = max(int(ev[r, 7]) - first_index, 0)
        b = min(int(ev[r, 8]) - first_index, n)
        for i in range(a, b):
            labels[i] = code
    return labels
