"""``povlab recover SESSION_DIR``: turn what a killed (or disk-full) recording left into a valid session.

A run needs recovery when its ``session.json`` still says ``recording`` or its XDF did not
end cleanly (a chunk cut short, streams without footers). Recovery never deletes anything:

1. the original XDF is kept beside the run as ``<stem>.xdf.crashed``;
2. every complete sample it holds is rewritten into ``<stem>.xdf``, a well-formed XDF with
   footers (pyxdf and LabRecorder's other readers open it), time stamps as recorded;
3. trials are rebuilt from the markers when ``trials.tsv`` misses rows (the old file is kept
   as ``<stem>_trials.tsv.crashed``);
4. ``session.json`` gets ``status: "recovered"`` and a ``recovery`` section saying what was
   read, the time of the last sample and what was lost.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.errors import BundleError, RecordingError
from app.formats.xdf_format import write_streams
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.folder import SessionRun, find_runs, write_json_atomic, write_trials
from app.runfolder.trial_records import attach_fixation_counts, attach_predictions, parse_markers


@dataclass
class RunRecovery:
    stem: str
    status_before: str
    recovered: bool
    samples: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    trials: int = 0
    losses: list[str] = field(default_factory=list)


def _parse_utc(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        try:
            return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            return None


def recover_run(run: SessionRun) -> RunRecovery:
    rec = RunRecovery(stem=run.stem, status_before=run.status, recovered=False)
    if not run.xdf.is_file():
        raise BundleError(f"{run.xdf}: missing; nothing to recover for run {run.stem}")
    contents = read_session_xdf(run.xdf, clock_correct=False)
    if contents.complete and run.status != "recording":
        return rec
    rec.losses = list(contents.losses)
    rec.samples = {name: len(s) for name, s in contents.streams.items()}
    stamps = [s.time_stamps for s in contents.streams.values() if len(s)]
    first = min(float(t[0]) for t in stamps) if stamps else 0.0
    last = max(float(t[-1]) for t in stamps) if stamps else 0.0
    rec.duration_s = last - first
    if not contents.complete:
        crashed = run.xdf.with_name(run.xdf.name + ".crashed")
        if crashed.exists():
            raise BundleError(f"{crashed}: already exists; recovery was started before (move it away to retry)")
        run.xdf.rename(crashed)
        try:
            write_streams(run.xdf, sorted(contents.streams.values(), key=lambda s: s.stream_id))
        except BaseException:
            run.xdf.unlink(missing_ok=True)
            crashed.rename(run.xdf)
            raise
    markers = contents.get("PovLab-Markers") or contents.by_type("Markers")
    log = parse_markers(markers.time_stamps, markers.strings(), last) if markers is not None else None
    old_rows = run.trials()
    if log is not None:
        attach_predictions(log.trials, contents.get("PovLab-Predictions"))
        attach_fixation_counts(log.trials, contents.get("PovLab-Fixations"))
        if len(log.trials) > len(old_rows):
            if run.trials_tsv.is_file():
                shutil.copyfile(run.trials_tsv, run.trials_tsv.with_name(run.trials_tsv.name + ".crashed"))
            write_trials(run.trials_tsv, [t.row() for t in log.trials])
    rec.trials = max(len(old_rows), len(log.trials) if log else 0)
    meta = dict(run.meta)
    started = _parse_utc(meta.get("started_utc"))
    if not meta.get("ended_utc") and started is not None:
        meta["ended_utc"] = (started + timedelta(seconds=rec.duration_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if log is not None and log.gaps:
        meta["gaps"] = [[a, b] for a, b in log.gaps]
    meta["status"] = "recovered"
    meta["recovery"] = {
        "recovered_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status_before": rec.status_before,
        "original_xdf": (run.xdf.name + ".crashed") if not contents.complete else None,
        "samples": rec.samples, "first_timestamp": first, "last_timestamp": last,
        "unread_bytes": contents.unread_bytes, "losses": rec.losses, "trials": rec.trials,
    }
    write_json_atomic(run.session_json, meta)
    rec.recovered = True
    return rec


def recover_session(session_dir: Path | str) -> list[RunRecovery]:
    """Recover every run of the folder that needs it; runs that ended cleanly are left alone."""
    out = []
    for run in find_runs(session_dir):
        try:
            out.append(recover_run(run))
        except OSError as exc:
            raise RecordingError(f"{run.folder}: recovery of {run.stem} failed ({exc.strerror or exc}); "
                                 "the recorded files are kept as they were") from exc
    return out
