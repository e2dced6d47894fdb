"""Session bundles: one zip per session with a manifest, checked byte for byte.

``bundle``: every file of the session folder under ``sub-<p>/ses-<s>/``, the report tables of each run
(``derivatives/<stem>_desc-aoimetrics_beh.tsv``, ``..._desc-trialmetrics_beh.tsv`` and their sidecars, made
from the XDF when the folder does not hold them yet) plus ``manifest.json``
(format, app version, model path and sha256, the protocol copy and its sha256, sha256 and size
of every file). The zip comment carries the sha256 of every byte of the zip before that
digest, so ``verify`` notices a change anywhere in the file, headers included, and the
per-file digests say which file changed.

``import``: refuses an entry that would land outside the target folder (absolute names, ``..``,
backslashes, drive letters, symlinks), a session already present, and any failed check;
files are extracted into a staging folder and moved into place only when all are good.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from app import __version__
from app.core.errors import BundleError
from app.runfolder.aoi_report import report_files
from app.runfolder.bundle_manifest import FORMAT, MANIFEST, MAX_BYTES, MAX_FILES, import_limit_problem, read_manifest
from app.runfolder.bundle_signing import SIGNATURE, load_private_key, load_public_key, sign_manifest, signature_problem
from app.runfolder.folder import LABEL, find_runs

FORMAT_VERSION = 1
DIGEST_TAG = b"povlab-sha256:"
_STORED_SUFFIXES = {".xdf", ".gz", ".jpg", ".jpeg", ".png", ".zip", ".onnx"}
_BLOCK = 1 << 20


@dataclass
class BundleReport:
    path: Path
    files: int = 0
    bytes: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerifyReport:
    path: Path
    files: int = 0
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    signature: str = "not signed"

    @property
    def ok(self) -> bool:
        return not self.problems


def bundle_session(session_dir: Path | str, out: Path | str, sign_key: Path | None = None) -> BundleReport:
    """Write ``out`` (a new zip) holding the session folder and its manifest (signed with ``sign_key``, a
    private key from ``povlab keygen``, when given: see :mod:`app.runfolder.bundle_signing`)."""
    session_dir, out = Path(session_dir), Path(out)
    private_key = load_private_key(sign_key) if sign_key is not None else None
    runs = find_runs(session_dir)
    participant, session = runs[0].participant, runs[0].session
    if any((r.participant, r.session) != (participant, session) for r in runs):
        raise BundleError(f"{session_dir}: runs of different participants or sessions in one folder")
    if out.exists():
        raise BundleError(f"{out}: already exists; a bundle is never overwritten")
    open_runs = [r.stem for r in runs if not r.status.ended]
    if open_runs:
        raise BundleError(f"{session_dir}: run {open_runs[0]} is still marked 'recording' (running, or the app "
                          "was killed); let it finish or run 'povlab recover' first")
    prefix = f"sub-{participant}/ses-{session}"
    files: list[tuple[Path, str]] = []
    for p in sorted(session_dir.rglob("*")):
        if p.is_symlink():
            raise BundleError(f"{p}: symbolic link in the session folder; bundles hold regular files only")
        if p.is_file():
            files.append((p, f"{prefix}/{p.relative_to(session_dir).as_posix()}"))
    taken = {arc for _, arc in files}
    derived = {arc: data for run in runs if run.xdf.is_file() for name, data in report_files(run, run.stem).items()
               if (arc := f"{prefix}/derivatives/{name}") not in taken}  # per-AOI and per-trial metrics
    meta = runs[0].meta
    proto_name = meta.protocol or "protocol.toml"
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "participant": participant, "session": session,
        "runs": [{"stem": r.stem, "status": r.status.value} for r in runs],
        "model": meta.to_json()["model"],
        "protocol": None, "files": {},
    }
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(tmp, "x", allowZip64=True) as zf:
            for path, arc in files:
                comp = zipfile.ZIP_STORED if path.suffix.lower() in _STORED_SUFFIXES else zipfile.ZIP_DEFLATED
                info = zipfile.ZipInfo.from_file(path, arc)
                info.compress_type = comp
                h, size = hashlib.sha256(), 0
                with open(path, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    while chunk := src.read(_BLOCK):
                        h.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
                manifest["files"][arc] = {"sha256": h.hexdigest(), "size": size}
            stamp = datetime.now().timetuple()[:6]
            for arc, data in derived.items():
                zf.writestr(zipfile.ZipInfo(arc, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED)
                manifest["files"][arc] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            proto_arc = f"{prefix}/{proto_name}"
            if proto_arc in manifest["files"]:
                manifest["protocol"] = {"file": proto_arc, "sha256": manifest["files"][proto_arc]["sha256"],
                                        "matches_session": manifest["files"][proto_arc]["sha256"]
                                        == meta.protocol_sha256}
            manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
            zf.writestr(MANIFEST, manifest_bytes, compress_type=zipfile.ZIP_DEFLATED)
            if private_key is not None:
                zf.writestr(SIGNATURE, sign_manifest(manifest_bytes, private_key), compress_type=zipfile.ZIP_STORED)
            zf.comment = DIGEST_TAG + b"0" * 64
        _seal(tmp)
        if out.exists():
            raise BundleError(f"{out}: appeared while bundling; not overwritten (the bundle is at {tmp})")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(f"{out}: cannot write the bundle ({exc.strerror or exc}); nothing was kept") from exc
    return BundleReport(path=out, files=len(files), bytes=out.stat().st_size, manifest=manifest)


def _seal(path: Path) -> None:
    """Replace the placeholder digest at the end of the zip comment by the sha256 of all bytes before it."""
    size = path.stat().st_size
    h = hashlib.sha256()
    with open(path, "r+b") as fh:
        left = size - 64
        while left > 0:
            chunk = fh.read(min(_BLOCK, left))
            h.update(chunk)
            left -= len(chunk)
        fh.seek(size - 64)
        fh.write(h.hexdigest().encode("ascii"))


def _whole_file_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size < 64 + len(DIGEST_TAG):
            return "too short to be a bundle"
        fh.seek(size - 64 - len(DIGEST_TAG))
        tail = fh.read()
        if not tail.startswith(DIGEST_TAG):
            return "no POV Lab digest at the end of the file (not a bundle, or its end was changed)"
        fh.seek(0)
        h, left = hashlib.sha256(), size - 64
        while left > 0:
            chunk = fh.read(min(_BLOCK, left))
            h.update(chunk)
            left -= len(chunk)
    if h.hexdigest().encode("ascii") != tail[len(DIGEST_TAG):]:
        return "whole-file sha256 does not match: bytes changed after bundling"
    return None


def unsafe_name(info: zipfile.ZipInfo) -> str | None:
    """Why an entry could land outside the target folder, or None when it is safe."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if "\\" in name or "\x00" in name:
        return "has a backslash or NUL in its name"
    p = PurePosixPath(name)
    if p.is_absolute() or (p.parts and len(p.parts[0]) == 2 and p.parts[0][1] == ":"):
        return "has an absolute path"
    if ".." in p.parts:
        return "climbs out with '..'"
    if not p.parts or name.endswith("/") and info.file_size:
        return "has an empty name"
    return None


def verify_bundle(path: Path | str, public_key: Path | None = None) -> VerifyReport:
    """Check every byte of a bundle; problems are collected, not raised (BundleError if unreadable).

    ``public_key`` (a ``.pub`` from ``povlab keygen``): the manifest must also carry a valid signature by it."""
    path = Path(path)
    key = load_public_key(public_key) if public_key is not None else None
    report = VerifyReport(path=path)
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle")
    whole = _whole_file_problem(path)
    if whole:
        report.problems.append(whole)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"not a readable zip ({exc})")
        return report
    with zf:
        if len(zf.infolist()) > MAX_FILES + 1:
            report.problems.append(f"{len(zf.infolist())} entries, more than {MAX_FILES} files and the manifest")
            return report
        manifest, problem = read_manifest(zf)
        if manifest is None:
            report.problems.append(problem or f"{MANIFEST} unreadable")
            return report
        report.manifest = manifest
        sig_problem, report.signature = signature_problem(zf.read(MANIFEST), _entry(zf, SIGNATURE), key)
        if sig_problem:
            report.problems.append(sig_problem)
        listed: dict[str, Any] = manifest["files"]
        seen = set()
        for info in zf.infolist():
            if info.filename in (MANIFEST, SIGNATURE) or info.is_dir():
                continue
            why = unsafe_name(info)
            if why:
                report.problems.append(f"entry {info.filename!r} {why}")
                continue
            seen.add(info.filename)
            want = listed.get(info.filename)
            if want is None:
                report.problems.append(f"entry {info.filename!r} is not in the manifest")
                continue
            h, size = hashlib.sha256(), 0
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(_BLOCK):
                        h.update(chunk)
                        size += len(chunk)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
                report.problems.append(f"{info.filename}: unreadable ({str(exc)[:120]})")
                continue
            if h.hexdigest() != want.get("sha256") or size != want.get("size"):
                report.problems.append(f"{info.filename}: sha256 does not match the manifest (file changed)")
            report.files += 1
        for missing in sorted(set(listed) - seen):
            report.problems.append(f"{missing}: listed in the manifest but missing from the bundle")
    return report


def import_bundle(path: Path | str, into: Path | str, max_bytes: int = MAX_BYTES, max_files: int = MAX_FILES,
                  public_key: Path | None = None) -> Path:
    """Extract a verified bundle into ``into/sub-<p>/ses-<s>``; returns that folder.

    Refused: more than ``max_files`` files or ``max_bytes`` uncompressed (or a zip-bomb ratio), and a
    target whose ``sub-<p>``/``ses-<s>`` folders are symbolic links (they are never followed)."""
    path, into = Path(path), Path(into)
    try:
        with zipfile.ZipFile(path) as zf:
            limit = import_limit_problem(zf.infolist(), max_bytes, max_files)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: refused: not a readable zip ({str(exc)[:120]})") from exc
    if limit:
        raise BundleError(f"{path}: refused: {limit}")
    report = verify_bundle(path, public_key)
    if not report.ok:
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise BundleError(f"{path}: refused: {report.problems[0]}{more}")
    m = report.manifest
    for key in ("participant", "session"):
        if not LABEL.match(str(m.get(key, ""))):
            raise BundleError(f"{path}: refused: manifest {key} {m.get(key)!r} is not an alphanumeric label")
    prefix = PurePosixPath(f"sub-{m.get('participant')}") / f"ses-{m.get('session')}"
    target = into / prefix.parts[0] / prefix.parts[1]
    _refuse_links(path, into, target)
    if target.exists():
        raise BundleError(f"{path}: refused: session {prefix.as_posix()} is already present in {into}")
    stage = into / f".povlab-import-{uuid.uuid4().hex[:8]}"
    try:
        stage.mkdir(parents=True)
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.filename in (MANIFEST, SIGNATURE) or info.is_dir():
                    continue
                rel = PurePosixPath(info.filename)
                if rel.parts[:2] != prefix.parts:
                    raise BundleError(f"{path}: refused: entry {info.filename!r} is outside {prefix.as_posix()}/")
                dst = stage.joinpath(*rel.parts)
                if not dst.resolve().is_relative_to(stage.resolve()):
                    raise BundleError(f"{path}: refused: entry {info.filename!r} would land outside {into}")
                dst.parent.mkdir(parents=True, exist_ok=True)
                h, size, want = hashlib.sha256(), 0, m["files"][info.filename]
                fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
                with zf.open(info) as src, open(fd, "wb") as out:
                    while chunk := src.read(_BLOCK):
                        size += len(chunk)
                        if size > want["size"]:
                            raise BundleError(f"{path}: refused: {info.filename} is longer than the manifest says")
                        h.update(chunk)
                        out.write(chunk)
                if h.hexdigest() != want["sha256"]:
                    raise BundleError(f"{path}: refused: {info.filename} changed while importing")
        target.parent.mkdir(parents=True, exist_ok=True)
        _refuse_links(path, into, target)
        if target.exists():
            raise BundleError(f"{path}: refused: session {prefix.as_posix()} appeared in {into} while importing")
        stage.joinpath(*prefix.parts).rename(target)
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"{path}: import into {into} failed ({getattr(exc, 'strerror', None) or exc}); nothing was kept") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target


def _entry(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > 16 * 1024:
        return b""  # not a signature entry; reported as unreadable
    with zf.open(info) as fh:
        return fh.read(16 * 1024)


def _refuse_links(path: Path, into: Path, target: Path) -> None:
    """The folders an import creates inside ``into`` must not be symbolic links (an import never follows one)."""
    for p in (target.parent, target):
        if p.is_symlink():
            raise BundleError(f"{path}: refused: {p} is a symbolic link; an import never follows links inside "
                              f"{into}")
