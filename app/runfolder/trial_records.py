"""Trials, gaps and predictions rebuilt from the streams of a recording (markers vocabulary in app.core.markers).

The markers stream is the record of what happened; ``trials.tsv`` is a convenience written by
the session runner. After a crash the file may miss its last rows, so recovery and export
rebuild trials from the markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.core.layout import Aoi
from app.core.markers import parse_marker
from app.core.streams import PREDICTIONS
from app.formats.xdf_format import XdfStream


@dataclass
class TrialRecord:
    number: int
    trial_id: str = ""
    practice: bool = False
    image: str = ""
    caption: str = ""
    expected: str = ""
    start: float = float("nan")  # TRIALID time stamp
    stim_onset: float = float("nan")
    stim_offset: float = float("nan")
    response: str = ""
    rt_ms: float = float("nan")
    end: float = float("nan")  # TRIAL_RESULT time stamp
    p_yes: float = float("nan")
    p_no: float = float("nan")
    p_unclear: float = float("nan")
    n_fixations: int = 0

    def row(self) -> dict[str, object]:
        """The ``trials.tsv`` row of this trial."""
        return {"number": self.number, "trial_id": self.trial_id, "practice": int(self.practice),
                "stim_onset": self.stim_onset, "stim_offset": self.stim_offset, "response": self.response or None,
                "rt_ms": self.rt_ms, "expected": self.expected or None, "p_yes": self.p_yes, "p_no": self.p_no,
                "p_unclear": self.p_unclear, "n_fixations": self.n_fixations}


@dataclass
class MarkerLog:
    trials: list[TrialRecord] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    session_start: float | None = None
    session_end: float | None = None
    aborted: bool = False


def parse_markers(stamps: np.ndarray, texts: list[str], end_of_data: float | None = None) -> MarkerLog:
    """Walk the markers in time order. A gap left open at the end closes at ``end_of_data``."""
    log = MarkerLog()
    cur: TrialRecord | None = None
    gap_start: float | None = None
    for t, text in sorted(zip(stamps.tolist(), texts, strict=True), key=lambda p: p[0]):
        m = parse_marker(text)
        if m.kind == "SESSION_START" and log.session_start is None:
            log.session_start = t
        elif m.kind == "SESSION_END":
            log.session_end = t
        elif m.kind == "ABORT":
            log.aborted = True
        elif m.kind == "GAP_START":
            gap_start = t
        elif m.kind == "GAP_END" and gap_start is not None:
            log.gaps.append((gap_start, t))
            gap_start = None
        elif m.kind == "TRIALID" and m.args:
            try:
                cur = TrialRecord(number=int(m.args[0]), start=t)
            except ValueError:
                continue
            log.trials.append(cur)
        elif cur is None:
            continue
        elif m.kind == "TRIAL_VAR" and len(m.args) >= 2:
            name, value = m.args[0], " ".join(m.args[1:])
            if name == "trial_id":
                cur.trial_id = value
            elif name == "practice":
                cur.practice = value in ("1", "true", "True")
            elif name == "image":
                cur.image = value
            elif name == "caption":
                cur.caption = value
            elif name == "expected":
                cur.expected = value
            elif name == "response":
                cur.response = value
            elif name == "rt_ms":
                try:
                    cur.rt_ms = float(value)
                except ValueError:
                    pass
        elif m.kind == "STIM_ONSET":
            cur.stim_onset = t
        elif m.kind == "STIM_OFFSET":
            cur.stim_offset = t
        elif m.kind == "TRIAL_RESULT":
            cur.end = t
    if gap_start is not None:
        log.gaps.append((gap_start, end_of_data if end_of_data is not None else gap_start))
    return log


def _is_trial_number(numbers: np.ndarray) -> np.ndarray:
    """Which values of a live stream's ``trial_number`` channel can be trial numbers: a damaged one (NaN, inf,
    1e308) belongs to no trial (casting it to an integer fails or gives garbage)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(numbers) & (np.abs(numbers) < 2**62)


def attach_predictions(trials: list[TrialRecord], predictions: XdfStream | None) -> None:
    """The last prediction published for each trial (the one the operator saw at its end)."""
    if predictions is None or not len(predictions) or isinstance(predictions.time_series, list):
        return
    by_number = {t.number: t for t in trials}
    cols = {c: predictions.channels.index(c) for c in PREDICTIONS.channels if c in predictions.channels}
    if not {"trial_number", "p_yes", "p_no", "p_unclear"} <= set(cols):
        return
    data = np.asarray(predictions.time_series, dtype=np.float64)
    data = data[np.argsort(predictions.time_stamps, kind="stable")]
    for row in data[_is_trial_number(data[:, cols["trial_number"]])]:
        tr = by_number.get(int(row[cols["trial_number"]]))
        if tr is not None:
            tr.p_yes, tr.p_no, tr.p_unclear = (float(row[cols[k]]) for k in ("p_yes", "p_no", "p_unclear"))


def attach_fixation_counts(trials: list[TrialRecord], fixations: XdfStream | None) -> None:
    """How many live fixations each trial had (the ``trial_number`` channel of the fixations stream)."""
    if fixations is None or not len(fixations) or "trial_number" not in fixations.channels:
        return
    column = fixations.column("trial_number")
    numbers, counts = np.unique(column[_is_trial_number(column)].astype(np.int64), return_counts=True)
    by_number = dict(zip(numbers.tolist(), counts.tolist(), strict=True))
    for tr in trials:
        tr.n_fixations = int(by_number.get(tr.number, 0))


def parse_iareas(texts: list[str], stamps: np.ndarray) -> dict[int, list[Aoi]]:
    """The AOIs each trial announced with ``!V IAREA`` markers (after its ``TRIALID``), in screen pixels."""
    out: dict[int, list[Aoi]] = {}
    current: int | None = None
    for _, text in sorted(zip(stamps.tolist(), texts, strict=True), key=lambda p: p[0]):
        m = parse_marker(text)
        if m.kind == "TRIALID" and m.args and m.args[0].isdigit():
            current = int(m.args[0])
            out.setdefault(current, [])
        elif m.kind == "IAREA" and current is not None and len(m.args) >= 4:
            shape, name = m.args[0], m.args[-1]
            poly: tuple[tuple[float, float], ...]
            try:
                if shape == "RECTANGLE" and len(m.args) == 7:
                    x0, y0, x1, y1 = (float(v) for v in m.args[2:6])
                    poly = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
                elif shape == "FREEHAND":
                    poly = tuple((float(p.split(",")[0]), float(p.split(",")[1])) for p in m.args[2:-1])
                    if len(poly) < 3:
                        continue
                else:
                    continue
            except (ValueError, IndexError):
                continue
            kind = "word" if name.startswith("txt_") else "object" if name.startswith("vis_") else "other"
            aois = out[current]
            aois.append(Aoi(name, kind, name.split("_", 1)[-1], poly, sum(a.kind == kind for a in aois)))
    return out
