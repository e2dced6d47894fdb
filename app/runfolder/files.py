"""Where a session's files go, and how its metadata is written without ever losing it.

Layout (LabRecorder's BIDS-like template)::

    <out>/sub-<participant>/ses-<session>/
        sub-<p>_ses-<s>_task-<task>_run-<NNN>.xdf            every stream of the run
        sub-<p>_ses-<s>_task-<task>_run-<NNN>_session.json   metadata, rewritten atomically
        sub-<p>_ses-<s>_task-<task>_run-<NNN>_trials.tsv     one row per trial, appended as trials end
        protocol.toml, stimuli/                               copies: the folder stands alone

Runs are numbered from 001; an existing run is never overwritten (the next free number is used).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import RecordingError
from app.core.hashing import sha256_file
from app.core.limits import safe_filename
from app.core.run_metadata import RunMetadata

LABEL = re.compile(r"[A-Za-z0-9]{1,64}\Z")  # \Z: "$" would let a trailing newline through
TRIAL_COLUMNS = ("number", "trial_id", "practice", "stim_onset", "stim_offset", "response", "rt_ms",
                 "expected", "p_yes", "p_no", "p_unclear", "n_fixations")


def check_label(kind: str, value: str) -> str:
    """BIDS labels are alphanumeric: ``sub-<label>``, ``ses-<label>``."""
    if not isinstance(value, str) or not LABEL.match(value):
        raise RecordingError(f"{kind} {value[:80]!r}: use letters and digits only, at most 64 (it becomes a BIDS "
                             "label and a folder name)")
    return value


@dataclass(frozen=True)
class RunFiles:
    folder: Path
    stem: str  # sub-<p>_ses-<s>_task-<t>_run-<NNN>

    @property
    def xdf(self) -> Path:
        return self.folder / f"{self.stem}.xdf"

    @property
    def session_json(self) -> Path:
        return self.folder / f"{self.stem}_session.json"

    @property
    def trials_tsv(self) -> Path:
        return self.folder / f"{self.stem}_trials.tsv"


def session_folder(out: Path, participant: str, session: str) -> Path:
    return Path(out) / f"sub-{check_label('participant', participant)}" / f"ses-{check_label('session', session)}"


def check_writable(out: Path, participant: str, session: str) -> None:
    """Refuse an output folder that cannot be written, without creating anything."""
    folder = session_folder(out, participant, session)
    p = folder.resolve()
    while not p.exists():
        p = p.parent
    if not p.is_dir() or not os.access(p, os.W_OK | os.X_OK):
        raise RecordingError(f"{folder}: output folder is not writable ({p} is not a writable folder)")


def next_run(out: Path, participant: str, session: str, task: str = "pov") -> RunFiles:
    """Create the session folder if needed, check it is writable, and pick the next free run."""
    check_label("task", task)
    folder = session_folder(out, participant, session)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise RecordingError(f"{folder}: output folder is not writable ({exc.strerror})") from exc
    base = f"sub-{participant}_ses-{session}_task-{task}"
    taken = {int(m.group(1)) for p in folder.iterdir() if (m := re.match(re.escape(base) + r"_run-(\d+)", p.name))}
    run = max(taken, default=0) + 1
    return RunFiles(folder, f"{base}_run-{run:03d}")


def write_json_atomic(path: Path, data: dict[str, Any], use_reserve: bool = False) -> None:
    """Write to a temporary file, fsync, rename: a crash leaves the old or the new file, never half.

    ``use_reserve``: on a full disk, free the run's reserve (:func:`reserve_space`) and try once more, so the
    final status of a session that filled the disk still reaches its ``session.json``."""
    try:
        _write_replace(path, data)
    except OSError as exc:
        reserve = reserve_path(path)
        if not (use_reserve and exc.errno in (errno.ENOSPC, errno.EDQUOT) and reserve.exists()):
            raise
        reserve.unlink()
        _write_replace(path, data)


def _write_replace(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the old file stays as it was
        raise


RESERVE_BYTES = 256 * 1024  # room for the last session.json (a few kB) and its temporary copy


def reserve_path(meta_path: Path) -> Path:
    return meta_path.with_name(f".{meta_path.name}.reserve")


def reserve_space(meta_path: Path) -> None:
    """Set aside disk space for the run's final ``session.json`` (freed by that write on a full disk, removed by
    :func:`release_reserve` at the end, and by ``povlab recover`` after a kill)."""
    reserve = reserve_path(meta_path)
    try:
        with open(reserve, "wb") as fh:
            fh.write(bytes(RESERVE_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        reserve.unlink(missing_ok=True)  # a disk already this full fails at the first recorded bytes anyway


def release_reserve(meta_path: Path) -> None:
    try:
        reserve_path(meta_path).unlink(missing_ok=True)
    except OSError:
        pass  # a leftover reserve is only a hidden file of 256 KiB; recover removes it


def write_meta(path: Path, meta: RunMetadata, use_reserve: bool = False) -> None:
    """Rewrite a run's ``session.json`` (atomically, as :func:`write_json_atomic`)."""
    write_json_atomic(path, meta.to_json(), use_reserve)


def copy_protocol(protocol_path: Path, files: list[Path], folder: Path) -> dict[Path, str]:
    """Copy the protocol and its stimuli (and font) so the session folder stands alone.

    Each distinct file gets its own copy in ``stimuli/``: two stimuli with the same name in different
    folders (or a stimulus of an earlier run with other bytes) get names made distinct by their sha256.
    The copy's ``image``/``font`` strings (double- or single-quoted) point at ``stimuli/<name>``;
    nothing is overwritten. Returns each source file's name in ``stimuli/``.
    """
    try:
        return _copy_protocol(protocol_path, files, folder)
    except OSError as exc:
        raise RecordingError(f"{folder}: cannot copy the protocol and stimuli ({exc.strerror})") from exc


_FILE_REF = re.compile(r"""(?P<key>(?<![\w.-])(?:image|font)\s*=\s*)(?:"(?P<dq>[^"\\\n]*)"|'(?P<sq>[^'\n]*)')""")


def _copy_protocol(protocol_path: Path, files: list[Path], folder: Path) -> dict[Path, str]:
    stimuli = folder / "stimuli"
    stimuli.mkdir(exist_ok=True)
    names: dict[Path, str] = {}
    taken: dict[str, str] = {}  # name in stimuli/ -> sha256 of its bytes
    for f in sorted(set(files)):
        digest = sha256_file(f)
        stem, suffix = safe_filename(f.stem, 80), safe_filename(f.suffix.lstrip("."), 10)
        name = f"{stem}.{suffix}" if suffix else stem
        target = stimuli / name
        if taken.get(name, digest) != digest or (name not in taken and target.exists()
                                                  and sha256_file(target) != digest):
            name = f"{stem}-{digest[:12]}.{suffix}" if suffix else f"{stem}-{digest[:12]}"
            target = stimuli / name
        if not target.exists():
            shutil.copyfile(f, target)
        taken[name] = digest
        names[f] = name
    target = folder / "protocol.toml"
    if not target.exists():
        text = Path(protocol_path).read_text(encoding="utf-8-sig")
        base = Path(protocol_path).resolve().parent

        def point_at_copy(m: re.Match[str]) -> str:
            try:
                name = names.get((base / (m.group("dq") or m.group("sq") or "")).resolve())
            except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop
                name = None
            return m.group(0) if name is None else f'{m.group("key")}"stimuli/{name}"'

        target.write_text(_FILE_REF.sub(point_at_copy, text), encoding="utf-8")
    return names


class TrialsTable:
    """The trials TSV, appended and flushed one row at a time as trials end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "x", encoding="utf-8") as fh:
            fh.write("\t".join(TRIAL_COLUMNS) + "\n")

    def append(self, row: dict[str, Any]) -> None:
        cells = []
        for col in TRIAL_COLUMNS:
            v = row.get(col)
            cells.append("n/a" if v is None else (f"{v:.6f}" if isinstance(v, float) else str(v)))
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("\t".join(cells) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
