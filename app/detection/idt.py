"""I-DT: dispersion-threshold identification of fixations.

Salvucci & Goldberg 2000, "Identifying fixations and saccades in eye-tracking protocols",
Proc. ETRA, 71-78. A window starting at sample ``i`` first covers the minimum duration
(it ends at the first sample ``j`` with ``t[j] >= t[i] + min_duration``). If its dispersion
``(max x - min x) + (max y - min y)`` (degrees) is at most the threshold and it holds no
missing sample, it is a fixation and grows sample by sample while the dispersion stays within
the threshold; the next window starts after it. Otherwise sample ``i`` is not a fixation and the
window moves on by one sample. Defaults (1 deg, 100 ms) are pymovements' and Salvucci's.

:func:`idt_fixation_mask` is the offline version (vectorised range queries, a Python loop
over fixations only); :class:`IdtLabeller` is the online one (monotone deques, constant
amortised work per sample). Both apply the same comparisons to the same floats, so they
label every sample the same (tested).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.detection.segments import FIX, LOSS, SACC

F64 = NDArray[np.float64]
_BLOCK = 1 << 15


@dataclass(frozen=True)
class IdtParams:
    dispersion_threshold_deg: float = 1.0
    min_duration_s: float = 0.1

    def __post_init__(self) -> None:
        for name in ("dispersion_threshold_deg", "min_duration_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise GazeDataError(f"I-DT: {name} must be a positive number, got {v!r}")


def _window_dispersion(xd: F64, yd: F64, i: NDArray[np.intp], j: NDArray[np.intp]) -> F64:
    """Dispersion of the windows ``[i[k], j[k]]`` (inclusive) by a sparse table over their span."""
    out = np.empty(len(i))
    if len(i) == 0:
        return out
    lo, hi = int(i.min()), int(j.max()) + 1
    length = j - i + 1
    level = np.floor(np.log2(length)).astype(np.intp)
    tables = []
    for col in (xd[lo:hi], yd[lo:hi]):
        mx, mn = [col], [col]
        for lev in range(1, int(level.max()) + 1):
            h = 1 << (lev - 1)
            mx.append(np.maximum(mx[-1][:-h], mx[-1][h:]))
            mn.append(np.minimum(mn[-1][:-h], mn[-1][h:]))
        tables.append((mx, mn))
    disp = np.zeros(len(i))
    for lev in np.unique(level).tolist():
        sel = level == lev
        a = i[sel] - lo
        b = j[sel] - lo - (1 << lev) + 1
        total = np.zeros(int(sel.sum()))
        for mx, mn in tables:
            total = total + (np.maximum(mx[lev][a], mx[lev][b]) - np.minimum(mn[lev][a], mn[lev][b]))
        disp[sel] = total
    out[:] = disp
    return out


def idt_fixation_mask(t: F64, xd: F64, yd: F64, ok: NDArray[np.bool_], dispersion_deg: float = 1.0,
                      min_duration_s: float = 0.1) -> NDArray[np.bool_]:
    """True where a sample belongs to a fixation (offline I-DT over whole arrays, degrees)."""
    IdtParams(dispersion_deg, min_duration_s)
    n = len(t)
    if not (len(xd) == len(yd) == len(ok) == n):
        raise GazeDataError("I-DT: t, x, y and ok must have the same length")
    fix = np.zeros(n, dtype=bool)
    if n == 0:
        return fix
    j_of = np.searchsorted(t, t + min_duration_s, side="left")
    bad_cum = np.concatenate(([0], np.cumsum(~ok)))
    start_ok = np.zeros(n, dtype=bool)
    for a in range(0, n, _BLOCK):  # window starts (si) and ends (sj) of one block, as arrays
        si = np.arange(a, min(a + _BLOCK, n))
        sj = j_of[si]
        inside = sj < n
        si, sj = si[inside], sj[inside]
        clean = bad_cum[sj + 1] - bad_cum[si] == 0
        si, sj = si[clean], sj[clean]
        start_ok[si[_window_dispersion(xd, yd, si, sj) <= dispersion_deg]] = True
    candidates = np.flatnonzero(start_ok)
    bad_idx = np.flatnonzero(~ok)
    pos = 0
    i = 0
    while True:
        pos = int(np.searchsorted(candidates, i, side="left"))
        if pos == len(candidates):
            break
        i = int(candidates[pos])
        e = int(j_of[i])
        wx, wy = xd[i:e + 1], yd[i:e + 1]
        mxx, mnx, mxy, mny = wx.max(), wx.min(), wy.max(), wy.min()
        nb = int(np.searchsorted(bad_idx, e + 1, side="left"))
        limit = int(bad_idx[nb]) if nb < len(bad_idx) else n  # first missing sample after the window
        step = 64
        while e + 1 < limit:
            s = slice(e + 1, min(e + 1 + step, limit))
            ax = np.maximum.accumulate(np.maximum(xd[s], mxx))
            nx = np.minimum.accumulate(np.minimum(xd[s], mnx))
            ay = np.maximum.accumulate(np.maximum(yd[s], mxy))
            ny = np.minimum.accumulate(np.minimum(yd[s], mny))
            over = np.flatnonzero((ax - nx) + (ay - ny) > dispersion_deg)
            if len(over):
                e += int(over[0])
                break
            e = s.stop - 1
            mxx, mnx, mxy, mny = ax[-1], nx[-1], ay[-1], ny[-1]
            step *= 2
        fix[i:e + 1] = True
        i = e + 1
    return fix


def idt_codes(t: F64, xd: F64, yd: F64, v: F64, ok: NDArray[np.bool_], params: IdtParams) -> NDArray[np.int8]:
    fix = idt_fixation_mask(t, xd, yd, ok, params.dispersion_threshold_deg, params.min_duration_s)
    return np.where(fix, FIX, np.where(ok, SACC, LOSS)).astype(np.int8)


class _MonoDeque:
    """Sliding-window maximum (use negated values for the minimum) over (index, value) pairs."""

    def __init__(self) -> None:
        self.q: deque[tuple[int, float]] = deque()

    def push(self, idx: int, val: float) -> None:
        q = self.q
        while q and q[-1][1] <= val:
            q.pop()
        q.append((idx, val))

    def drop_before(self, idx: int) -> None:
        q = self.q
        while q and q[0][0] < idx:
            q.popleft()

    def top(self) -> float:
        return self.q[0][1]


class IdtLabeller:
    """Online I-DT: decides each sample as soon as the rules above allow (at most one window late)."""

    def __init__(self, params: IdtParams) -> None:
        self.p = params
        self.t: deque[float] = deque()  # undecided samples, oldest first; index of t[0] is self.i
        self.x: deque[float] = deque()
        self.y: deque[float] = deque()
        self.ok: deque[bool] = deque()
        self.i = 0  # global index of the oldest undecided sample
        self.seen = 0  # global index of the next sample to arrive
        self.in_fix = False
        self.ext = (0.0, 0.0, 0.0, 0.0)  # max x, min x, max y, min y of the fixation being grown
        self._reset_window()

    def _reset_window(self) -> None:
        self.j = self.i  # next sample to add to the window [i, j)
        self.bad = 0
        self.mxx, self.mnx, self.mxy, self.mny = _MonoDeque(), _MonoDeque(), _MonoDeque(), _MonoDeque()
        self.bad_q: deque[int] = deque()

    def push(self, t: F64, xd: F64, yd: F64, v: F64, ok: NDArray[np.bool_]) -> NDArray[np.int8]:
        self.t.extend(t.tolist())
        self.x.extend(xd.tolist())
        self.y.extend(yd.tolist())
        self.ok.extend(ok.tolist())
        self.seen += len(t)
        out: list[int] = []
        self._run(out)
        return np.asarray(out, dtype=np.int8)

    def finish(self) -> NDArray[np.int8]:
        out: list[int] = []
        while self.t:  # no window can complete any more: the rest is not a fixation
            out.append(SACC if self.ok[0] else LOSS)
            self._pop()
        return np.asarray(out, dtype=np.int8)

    def _pop(self) -> None:
        self.t.popleft()
        self.x.popleft()
        self.y.popleft()
        self.ok.popleft()
        self.i += 1

    def _run(self, out: list[int]) -> None:
        thr = self.p.dispersion_threshold_deg
        while self.t:
            if self.in_fix:
                if not self.ok[0]:
                    self.in_fix = False
                    self._reset_window()
                    continue
                x, y = self.x[0], self.y[0]
                mxx, mnx, mxy, mny = self.ext
                mxx, mnx, mxy, mny = max(mxx, x), min(mnx, x), max(mxy, y), min(mny, y)
                if (mxx - mnx) + (mxy - mny) > thr:
                    self.in_fix = False
                    self._reset_window()
                    continue
                self.ext = (mxx, mnx, mxy, mny)
                out.append(FIX)
                self._pop()
                continue
            # search: the window [i, j] with j the first sample at or after t[i] + min duration
            t_end = self.t[0] + self.p.min_duration_s
            base = self.i
            while True:
                if self.j - base >= len(self.t):
                    return  # wait for more samples
                if self.j > base and self.t[self.j - 1 - base] >= t_end:
                    break  # window [i, j - 1] is complete
                k = self.j - base
                x, y = self.x[k], self.y[k]
                self.mxx.push(self.j, x)
                self.mnx.push(self.j, -x)
                self.mxy.push(self.j, y)
                self.mny.push(self.j, -y)
                if not self.ok[k]:
                    self.bad_q.append(self.j)
                self.j += 1
            for q in (self.mxx, self.mnx, self.mxy, self.mny):
                q.drop_before(base)
            while self.bad_q and self.bad_q[0] < base:
                self.bad_q.popleft()
            disp = (self.mxx.top() - (-self.mnx.top())) + (self.mxy.top() - (-self.mny.top()))
            if not self.bad_q and disp <= thr:
                # samples i .. j-1 are a fixation; keep growing it from sample j
                self.ext = (self.mxx.top(), -self.mnx.top(), self.mxy.top(), -self.mny.top())
                for _ in range(self.j - base):
                    out.append(FIX)
                    self._pop()
                self.in_fix = True
                continue
            out.append(SACC if self.ok[0] else LOSS)
            self._pop()
