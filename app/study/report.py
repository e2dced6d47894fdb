"""``povlab report SESSION_OR_STUDY --aoi-metrics OUT.tsv [--trials OUT.tsv]``: the report tables of a study.

The rows of every run (:func:`app.runfolder.aoi_report.run_report`), participants and runs in order, in one
table each. A run that crashed (``session.json`` still says ``recording`` and its files stopped changing) or
filled the disk is refused with one line naming the run and the ``povlab recover`` command to run first:
its trials are rebuilt from the markers by the recovery, never guessed here. Nothing is written then, and
nothing recorded is ever overwritten: the tables are written through a temporary file and a rename, and an
output path that is an existing file of a session folder is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import StudyError
from app.runfolder.aoi_report import AOI_COLUMNS, TRIAL_COLUMNS, RunReport, run_report, tsv_bytes
from app.study.status import NEEDS_RECOVERY, run_status, study_runs


@dataclass(frozen=True)
class StudyReport:
    runs: tuple[RunReport, ...]

    @property
    def aoi_rows(self) -> int:
        return sum(len(r.aoi_rows) for r in self.runs)

    @property
    def trial_rows(self) -> int:
        return sum(len(r.trial_rows) for r in self.runs)

    @property
    def notes(self) -> list[str]:
        return [n for r in self.runs for n in r.notes]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StudyError(f"{path}: cannot write the report ({exc.strerror})") from exc


def make_report(folder: Path | str, aoi_out: Path, trials_out: Path | None = None,
                margin_deg: float = 0.5, fixations_from: str = "recorded") -> StudyReport:
    folder = Path(folder)
    runs = study_runs(folder)
    outs = [p for p in (aoi_out, trials_out) if p is not None]
    if trials_out is not None and Path(aoi_out).resolve() == Path(trials_out).resolve():
        raise StudyError(f"{aoi_out}: --aoi-metrics and --trials must be two different files")
    for out in outs:
        if not out.parent.is_dir():
            raise StudyError(f"{out.parent}: folder for the report not found")
        if out.exists() and any(out.resolve().is_relative_to(r.folder.resolve()) for r in runs):
            raise StudyError(f"{out}: is a file of a session folder; a report never overwrites recorded files")
    for run in runs:
        st = run_status(run)
        if st.status in NEEDS_RECOVERY or st.status == "recording":
            what = "still recording" if st.status == "recording" else f"{st.status} (its recording did not end)"
            raise StudyError(f"{run.folder}: run {run.stem} is {what}; run 'povlab recover {run.folder}' first "
                             "(it keeps the original files); no report was written")
    order = sorted(runs, key=lambda r: (r.participant, r.session, r.run))
    reports = tuple(run_report(r, margin_deg, fixations_from=fixations_from) for r in order)
    _write(aoi_out, tsv_bytes(AOI_COLUMNS, [row for r in reports for row in r.aoi_rows]))
    if trials_out is not None:
        _write(trials_out, tsv_bytes(TRIAL_COLUMNS, [row for r in reports for row in r.trial_rows]))
    return StudyReport(reports)
