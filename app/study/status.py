"""``povlab study status DIR``: where a study stands, from the session folders alone.

A study is a folder of session folders (``sub-<p>/ses-<s>/``, found at any depth) recorded with one protocol:
every run's ``session.json`` names the sha256 of the protocol file it ran (``protocol_sha256``); runs of
different protocols in one folder are an error (one line naming both). Per run:

- ``status`` as ``session.json`` says, except that a run still marked ``recording`` whose XDF has not changed
  for :data:`STALE_S` seconds is shown as ``crashed`` (a live session flushes its XDF every 0.25 s); crashed and
  disk-full runs get the action ``povlab recover <folder>``;
- trials done (rows of ``trials.tsv``, practice apart) out of the protocol's trials (its copy in the folder);
- data quality: the validation figures (judgement, mean and max error in degrees), samples lost in transport
  (sequence gaps) and invalid samples (no gaze: blinks, track loss) as percentages, tracker gaps;
- model agreement: the share of answered main trials whose most probable predicted answer was the answer.
"""

from __future__ import annotations

import csv
import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.core.answers import ANSWERS, most_probable
from app.core.errors import PovLabError, StudyError
from app.core.protocol import load_protocol
from app.core.run_metadata import RunMetadata
from app.runfolder.folder import SessionRun, find_runs

STALE_S = 30.0
NEEDS_RECOVERY = ("crashed", "disk_full")


@dataclass(frozen=True)
class Quality:
    validation: str | None  # good / fair / poor as judged at the session, None when not measured
    validation_mean_deg: float | None
    validation_max_deg: float | None
    lost_pct: float | None  # samples missing in transport (sequence gaps), % of expected
    invalid_pct: float | None  # samples without gaze (blinks, track loss), % of received
    gaps: int
    gap_s: float


@dataclass(frozen=True)
class RunStatus:
    participant: str
    session: str
    run: int
    folder: str
    status: str
    trials_done: int
    trials_total: int | None
    practice_done: int
    quality: Quality
    agreement: float | None
    agreement_trials: int
    started_utc: str | None
    action: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyStatus:
    folder: str
    protocol_name: str | None
    protocol_sha256: str | None
    runs: tuple[RunStatus, ...]
    participants: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        by_participant: dict[str, list[dict[str, Any]]] = {}
        for r in self.runs:
            by_participant.setdefault(r.participant, []).append(asdict(r))
        agree = [r for r in self.runs if r.agreement is not None]
        n = sum(r.agreement_trials for r in agree)
        return {
            "study": self.folder, "protocol": {"name": self.protocol_name, "sha256": self.protocol_sha256},
            "participants": [{"participant": p, "sessions": by_participant[p]} for p in self.participants],
            "totals": {"participants": len(self.participants), "sessions": len(self.runs),
                       "trials_done": sum(r.trials_done for r in self.runs),
                       "needs_recovery": sum(r.action is not None for r in self.runs),
                       "agreement": (sum(r.agreement * r.agreement_trials for r in agree if r.agreement is not None) / n
                                     if n else None), "agreement_trials": n},
        }


def _pct(num: float, den: float) -> float | None:
    return round(100.0 * num / den, 3) if den > 0 else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        else None


def _quality(meta: RunMetadata) -> Quality:
    val: dict[str, Any] = meta.validation or {}
    c = meta.counters
    received, lost, invalid = (0.0, 0.0, 0.0) if c is None else (float(c.received), float(c.lost), float(c.invalid))
    gaps = [g for g in meta.gaps or [] if len(g) == 2]
    return Quality(
        validation=val.get("judgement") if isinstance(val.get("judgement"), str) else None,
        validation_mean_deg=_num(val.get("mean_deg", val.get("mean_error_deg"))),
        validation_max_deg=_num(val.get("max_deg", val.get("max_error_deg"))),
        lost_pct=_pct(lost, received + lost) if c else None,
        invalid_pct=_pct(invalid, received) if c else None,
        gaps=len(gaps), gap_s=round(sum(float(b) - float(a) for a, b in gaps), 3))


def _float(cell: str | None) -> float:
    try:
        return float(cell) if cell not in (None, "", "n/a") else math.nan
    except ValueError:
        return math.nan


def agreement(rows: list[dict[str, str]]) -> tuple[float | None, int]:
    """Share of answered main trials whose most probable predicted answer is the answer, and their number."""
    hits = []
    for row in rows:
        if row.get("practice") in ("1", "true", "True") or row.get("response") not in ANSWERS:
            continue
        probs = [_float(row.get(f"p_{a}")) for a in ANSWERS]
        if all(math.isfinite(p) for p in probs):
            hits.append(most_probable(probs) == row["response"])
    return (sum(hits) / len(hits) if hits else None), len(hits)


def _trials_total(run: SessionRun, notes: list[str]) -> int | None:
    proto = run.folder / (run.meta.protocol or "protocol.toml")
    try:
        return len(load_protocol(proto).trials)
    except PovLabError as exc:
        notes.append(f"protocol copy unreadable: {exc}")
        return None


def _rows(run: SessionRun, notes: list[str]) -> list[dict[str, str]]:
    try:
        return run.trials()
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        notes.append(f"{run.trials_tsv.name} unreadable ({exc})")
        return []


def run_status(run: SessionRun, now: float | None = None) -> RunStatus:
    meta = run.meta
    notes: list[str] = []
    status: str = run.status.value  # or "crashed", which only this report says
    if not run.status.ended:
        now = time.time() if now is None else now
        changed = max((p.stat().st_mtime for p in (run.xdf, run.session_json) if p.exists()), default=0.0)
        if now - changed > STALE_S:
            status = "crashed"
            notes.append(f"marked 'recording' but its files have not changed for {now - changed:.0f} s")
    rows = _rows(run, notes)
    main = [r for r in rows if r.get("practice") not in ("1", "true", "True")]
    agree, n_agree = agreement(rows)
    action = f"povlab recover {run.folder}" if status in NEEDS_RECOVERY else None
    return RunStatus(run.participant, run.session, run.run, str(run.folder), status, len(main),
                     _trials_total(run, notes), len(rows) - len(main), _quality(meta),
                     None if agree is None else round(agree, 4), n_agree,
                     meta.started_utc,
                     action, tuple(notes))


def _protocol_key(run: SessionRun) -> str:
    sha = run.meta.protocol_sha256
    if sha:
        return sha
    proto = run.folder / (run.meta.protocol or "protocol.toml")
    return hashlib.sha256(proto.read_bytes()).hexdigest() if proto.is_file() else "unknown"


def study_runs(folder: Path | str) -> list[SessionRun]:
    """Every run under ``folder`` (a session folder, or a study folder of them at any depth), one protocol."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StudyError(f"{folder}: study folder not found")
    session_dirs = sorted({p.parent for p in folder.rglob("*_session.json")})
    if not session_dirs:
        raise StudyError(f"{folder}: no sessions in this folder (no sub-*/ses-*/*_session.json)")
    runs = [run for d in session_dirs for run in find_runs(d)]
    groups: dict[str, list[SessionRun]] = {}
    for run in runs:
        groups.setdefault(_protocol_key(run), []).append(run)
    if len(groups) > 1:
        parts = []
        for sha, members in sorted(groups.items(), key=lambda g: -len(g[1])):
            name = members[0].meta.protocol_name or "?"
            where = ", ".join(f"{r.folder.relative_to(folder).as_posix() or '.'}" for r in members[:2])
            more = f" +{len(members) - 2}" if len(members) > 2 else ""
            parts.append(f"{name!r} (sha256 {sha[:8]}: {where}{more})")
        raise StudyError(f"{folder}: sessions of {len(groups)} protocols in one study folder: {'; '.join(parts)}; "
                         "a study folder holds the sessions of one protocol")
    return runs


def study_status(folder: Path | str, now: float | None = None) -> StudyStatus:
    runs = study_runs(folder)
    statuses = tuple(run_status(r, now) for r in sorted(runs, key=lambda r: (r.participant, r.session, r.run)))
    meta = runs[0].meta
    return StudyStatus(str(folder), meta.protocol_name, _protocol_key(runs[0]), statuses,
                       tuple(sorted({r.participant for r in runs})))
