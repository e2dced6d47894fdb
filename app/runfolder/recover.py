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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.core.errors import BundleError, RecordingError
from app.core.run_metadata import RecoveryRecord, SessionStatus
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
from app.formats.xdf_format import write_streams
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.folder import SessionRun, find_runs, write_meta, write_trials
from app.runfolder.trial_records import attach_fixation_counts, attach_predictions, parse_markers


@dataclass
class RunRecovery:
    stem: str
    status_before: SessionStatus
    recovered: bool
    samples: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    trials: int = 0
    losses: list[str] = field(default_factory=list)


def _parse_utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None


def recover_run(run: SessionRun) -> RunRecovery:
    rec = RunRecovery(stem=run.stem, status_before=run.status, recovered=False)
    if not run.xdf.is_file():
        raise BundleError(f"{run.xdf}: missing; nothing to recover for run {run.stem}")
    contents = read_session_xdf(run.xdf, clock_correct=False)
    if contents.complete and run.status.ended:
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
            write_streams(run.xdf, sorted(contents.streams.values(), key=lambda s: s.stream_id),
                          recorded_at=contents.recorded_at)  # the recording's own date, not the recovery's
        except BaseException:
            run.xdf.unlink(missing_ok=True)
            crashed.rename(run.xdf)
            raise
    markers = contents.get(MARKERS.name) or contents.by_type(MARKERS.type)
    log = parse_markers(markers.time_stamps, markers.strings(), last) if markers is not None else None
    old_rows = run.trials()
    if log is not None:
        attach_predictions(log.trials, contents.get(PREDICTIONS.name))
        attach_fixation_counts(log.trials, contents.get(FIXATIONS.name))
        if len(log.trials) > len(old_rows):
            if run.trials_tsv.is_file():
                shutil.copyfile(run.trials_tsv, run.trials_tsv.with_name(run.trials_tsv.name + ".crashed"))
            write_trials(run.trials_tsv, [t.row() for t in log.trials])
    rec.trials = max(len(old_rows), len(log.trials) if log else 0)
    meta = run.meta
    started = _parse_utc(meta.started_utc)
    ended = meta.ended_utc
    if not ended and started is not None:
        ended = (started + timedelta(seconds=rec.duration_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    gaps = [[float(a), float(b)] for a, b in log.gaps] if log is not None and log.gaps else meta.gaps
    recovery = RecoveryRecord(
        recovered_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), status_before=rec.status_before.value,
        original_xdf=(run.xdf.name + ".crashed") if not contents.complete else None,
        samples=rec.samples, first_timestamp=first, last_timestamp=last,
        unread_bytes=contents.unread_bytes, losses=rec.losses, trials=rec.trials)
    write_meta(run.session_json, replace(meta, status=SessionStatus.RECOVERED, ended_utc=ended, gaps=gaps,
                                         recovery=recovery))
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
