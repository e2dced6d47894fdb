"""Reading a session folder (what a recording leaves on disk) for export, bundling and recovery.

Layout, one folder per participant and session (LabRecorder's BIDS-like template)::

    sub-<p>/ses-<s>/
        sub-<p>_ses-<s>_task-<t>_run-<NNN>.xdf            every LSL stream of the run
        sub-<p>_ses-<s>_task-<t>_run-<NNN>_session.json   metadata and status
        sub-<p>_ses-<s>_task-<t>_run-<NNN>_trials.tsv     one row per trial
        protocol.toml, stimuli/                          copies: the folder is self-contained
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import BundleError
from app.core.geometry import ScreenGeometry
from app.core.run_metadata import RunMetadata, SessionStatus
from app.runfolder.files import LABEL, TRIAL_COLUMNS, RunFiles, write_json_atomic, write_meta

__all__ = ["LABEL", "TRIAL_COLUMNS", "SessionRun", "find_runs", "read_meta", "write_json_atomic", "write_meta",
           "write_trials"]
_STEM = re.compile(r"^sub-(?P<sub>[A-Za-z0-9]+)_ses-(?P<ses>[A-Za-z0-9]+)_task-(?P<task>[A-Za-z0-9]+)"
                   r"_run-(?P<run>\d{1,6})\Z")


@dataclass(frozen=True)
class SessionRun(RunFiles):
    """One run of a session folder: its files (see :class:`RunFiles`) and its metadata (``session.json``)."""

    meta: RunMetadata

    def label(self, key: str) -> str:
        m = _STEM.match(self.stem)
        assert m is not None  # checked in find_runs
        return {"participant": m["sub"], "session": m["ses"], "task": m["task"], "run": m["run"]}[key]

    @property
    def participant(self) -> str:
        return self.label("participant")

    @property
    def session(self) -> str:
        return self.label("session")

    @property
    def task(self) -> str:
        return self.label("task")

    @property
    def run(self) -> int:
        return int(self.label("run"))

    @property
    def status(self) -> SessionStatus:
        return self.meta.status

    def screen(self) -> ScreenGeometry:
        if self.meta.screen is None:
            raise BundleError(f"{self.session_json}: key 'screen' missing; expected width_px, height_px, width_cm, "
                              "height_cm, distance_cm")
        return self.meta.screen

    def trials(self) -> list[dict[str, str]]:
        """Rows of ``trials.tsv`` (empty when the file is missing, e.g. after a crash)."""
        if not self.trials_tsv.is_file():
            return []
        with open(self.trials_tsv, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh, delimiter="\t"))


def read_meta(path: Path) -> RunMetadata:
    """A run's ``session.json``; BundleError naming the file and the key when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BundleError(f"{path}: cannot read ({exc.strerror})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise BundleError(f"{path}: not valid JSON ({detail})") from exc
    return RunMetadata.from_json(data, str(path))


def find_runs(folder: Path | str) -> list[SessionRun]:
    """Every run in a session folder, by run number; BundleError when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder}: not a session folder (no such directory)")
    runs = []
    for meta_path in sorted(folder.glob("*_session.json")):
        stem = meta_path.name[: -len("_session.json")]
        if not _STEM.match(stem):
            raise BundleError(f"{meta_path}: name does not follow sub-<p>_ses-<s>_task-<t>_run-<n>_session.json")
        runs.append(SessionRun(folder, stem, read_meta(meta_path)))
    if not runs:
        raise BundleError(f"{folder}: not a session folder (no *_session.json file)")
    return sorted(runs, key=lambda r: r.run)


def write_trials(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite a whole trials table (recovery) through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=TRIAL_COLUMNS, delimiter="\t", lineterminator="\n",
                               extrasaction="ignore")
            w.writeheader()
            for row in rows:
                w.writerow({k: fmt_cell(row.get(k)) for k in TRIAL_COLUMNS})
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(f"{path}: cannot write ({exc.strerror})") from exc


def fmt_cell(v: Any) -> str:
    """A TSV cell as ``TrialsTable`` writes it: 'n/a' for None/NaN/±inf (BIDS has no infinity), ints plain,
    floats to microseconds."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.6f}".rstrip("0").rstrip(".") if v != int(v) or abs(v) > 1e15 else str(int(v))
    return str(v)
