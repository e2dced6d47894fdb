"""``povlab recover SESSION_DIR``: turn what a killed (or disk-full) recording left into a valid session.

A run needs recovery when its ``session.json`` still says ``recording`` or its XDF did not
end cleanly (a chunk cut short, streams without footers). Recovery never makes things worse:

1. the original XDF is kept beside the run as ``<stem>.xdf.crashed`` (a hard link, else a copy,
   made before anything else is written);
2. every complete sample it holds is written to ``<stem>.xdf.recovering``, flushed to disk, and
   only then renamed over ``<stem>.xdf`` in one step: a ``kill -9`` or a full disk at any moment
   leaves the original or the whole recovered file, never half of one, and a second run after an
   interrupted one starts again from the kept original;
3. rows of ``trials.tsv`` written live are never changed: trials the markers show but the table
   lacks are added (the old table is kept as ``<stem>_trials.tsv.crashed``);
4. ``session.json`` gets ``status: "recovered"`` and a ``recovery`` section saying what was
   read, the time of the last sample, what was lost and which trial rows were added.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.errors import BundleError, RecordingError
from app.core.run_metadata import RecoveryRecord, SessionStatus
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
from app.formats.xdf_format import finite_span, write_streams
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.files import release_reserve
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


MAX_RUN_S = 7 * 24 * 3600.0  # a longer span of stamps is damage, not a recording: no end time is made from it


def _number(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 1 << 30  # a row without a readable number keeps its place at the end


def _kept_original(xdf: Path) -> Path | None:
    crashed = xdf.with_name(xdf.name + ".crashed")
    return crashed if crashed.exists() else None


def _keep_original(xdf: Path) -> tuple[Path, bool]:
    """``<stem>.xdf.crashed``: the original bytes, kept before anything is written (idempotent); and whether this
    call made it."""
    crashed = xdf.with_name(xdf.name + ".crashed")
    if crashed.exists():
        if os.path.samefile(crashed, xdf) or crashed.stat().st_size == xdf.stat().st_size:
            return crashed, False  # an interrupted recovery kept it already
        k = 2
        while (other := xdf.with_name(f"{xdf.name}.crashed.{k}")).exists():
            k += 1
        crashed = other
    try:
        os.link(xdf, crashed)
    except OSError:  # no hard links on this file system: a copy, complete before it gets its name
        tmp = crashed.with_name(crashed.name + ".part")
        shutil.copyfile(xdf, tmp)
        _fsync(tmp)
        os.replace(tmp, crashed)
    return crashed, True


def _replace_atomically(xdf: Path, streams: list[Any], recorded_at: str = "") -> None:
    tmp = xdf.with_name(xdf.name + ".recovering")
    tmp.unlink(missing_ok=True)  # left by an interrupted recovery
    try:
        write_streams(tmp, streams, recorded_at=recorded_at)
        _fsync(tmp)
        os.replace(tmp, xdf)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(xdf.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover_run(run: SessionRun) -> RunRecovery:
    rec = RunRecovery(stem=run.stem, status_before=run.status, recovered=False)
    release_reserve(run.session_json)  # the disk space a killed session set aside for its last write
    if not run.xdf.is_file():
        raise BundleError(f"{run.xdf}: missing; nothing to recover for run {run.stem}")
    contents = read_session_xdf(run.xdf, clock_correct=False)
    if contents.complete and run.status.ended:
        return rec
    rec.losses = list(contents.losses)
    rec.samples = {name: len(s) for name, s in contents.streams.items()}
    first, last = finite_span(contents.streams.values())
    rec.duration_s = last - first
    plausible = rec.duration_s <= MAX_RUN_S
    if not plausible:
        rec.losses.append(f"time stamps span {rec.duration_s:.6g} s (damaged stamps): the run's end time is unknown")
    original = _kept_original(run.xdf)
    if not contents.complete:
        original, made = _keep_original(run.xdf)
        try:
            _replace_atomically(run.xdf, sorted(contents.streams.values(), key=lambda s: s.stream_id),
                                contents.recorded_at)  # the recording's own date, not the recovery's
        except BaseException:
            if made:  # a failed recovery (a full disk) leaves the folder as it found it
                original.unlink(missing_ok=True)
            raise
    markers = contents.get(MARKERS.name) or contents.by_type(MARKERS.type)
    log = parse_markers(markers.time_stamps, markers.strings(), last) if markers is not None else None
    old_rows = run.trials()
    added: list[int] = []
    if log is not None:
        attach_predictions(log.trials, contents.get(PREDICTIONS.name))
        attach_fixation_counts(log.trials, contents.get(FIXATIONS.name))
        live = {str(r.get("number", "")).strip() for r in old_rows}
        missing: list[dict[str, Any]] = [t.row() for t in log.trials if str(t.number) not in live]
        if missing:
            if run.trials_tsv.is_file():
                kept = run.trials_tsv.with_name(run.trials_tsv.name + ".crashed")
                if not kept.exists():
                    shutil.copyfile(run.trials_tsv, kept)
            rows: list[dict[str, Any]] = sorted([*old_rows, *missing], key=lambda r: _number(r.get("number")))
            write_trials(run.trials_tsv, rows)  # live rows as they were, the missing ones added
            added = [_number(r["number"]) for r in missing]
    rec.trials = len(old_rows) + len(added)
    meta = run.meta
    started = _parse_utc(meta.started_utc)
    ended = meta.ended_utc
    if not ended and started is not None and plausible:
        ended = (started + timedelta(seconds=rec.duration_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    gaps = [[float(a), float(b)] for a, b in log.gaps] if log is not None and log.gaps else meta.gaps
    recovery = RecoveryRecord(
        recovered_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), status_before=rec.status_before.value,
        original_xdf=original.name if original is not None else None,
        samples=rec.samples, first_timestamp=first, last_timestamp=last,
        unread_bytes=contents.unread_bytes, losses=rec.losses, trials=rec.trials, trial_rows_added=added or None)
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
