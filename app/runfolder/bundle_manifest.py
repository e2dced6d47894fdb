"""A bundle's ``manifest.json``: read within a size bound and checked against its schema before use.

A bundle comes from elsewhere (another lab computer, a collaborator, an e-mail): its manifest is
hostile input until checked. Reading is bounded (:data:`MAX_MANIFEST_BYTES` however well it
compresses, nesting at most :data:`~app.core.limits.MAX_DEPTH`), and every value ``verify`` and
``import`` rely on has its type checked, so a manifest that is a list, ``null``, nested 100,000
deep or has strings where objects belong is a reported problem, never a crash.

Import limits (``povlab import --max-bytes/--max-files``): the sum of the uncompressed sizes, the
number of files, and a compression ratio of at most :data:`MAX_RATIO` for any entry above 1 MiB.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from typing import Any

from app.core.limits import nesting_depth

MANIFEST = "manifest.json"
FORMAT = "povlab-session-bundle"
MAX_MANIFEST_BYTES = 8 * 2**20  # 10,000 files take 1.5 MiB
MAX_FILES = 10_000
MAX_BYTES = 64 * 2**30  # 64 GiB: hours of 2000 Hz gaze are a few GiB
MAX_RATIO = 50  # uncompressed / compressed of one entry (session files compress 2-10x; zeros 1000x)
MAX_DEPTH = 6
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def read_manifest(zf: zipfile.ZipFile) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None) or (None, the problem) for the manifest of an open bundle."""
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        return None, f"no {MANIFEST}"
    if info.file_size > MAX_MANIFEST_BYTES:
        return None, f"{MANIFEST} of {info.file_size} bytes is larger than {MAX_MANIFEST_BYTES // 2**20} MiB"
    try:
        with zf.open(info) as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            return None, f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES // 2**20} MiB"
        manifest = json.loads(data)
    except RecursionError:
        return None, f"{MANIFEST} is nested deeper than {MAX_DEPTH} levels"
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError) as exc:
        return None, f"{MANIFEST} unreadable ({str(exc)[:120]})"
    problem = check_manifest(manifest)
    return (None, problem) if problem else (manifest, None)


def check_manifest(m: Any) -> str | None:
    """Why ``m`` is not a POV Lab session manifest (None when its schema holds)."""
    if not isinstance(m, dict):
        return f"{MANIFEST} is not a POV Lab session manifest (a JSON {type(m).__name__}, not an object)"
    if nesting_depth(m, MAX_DEPTH) > MAX_DEPTH:
        return f"{MANIFEST} is nested deeper than {MAX_DEPTH} levels"
    if m.get("format") != FORMAT:
        return f"{MANIFEST} is not a POV Lab session manifest (format {str(m.get('format'))[:40]!r})"
    files = m.get("files")
    if not isinstance(files, dict):
        return f"{MANIFEST}: 'files' must be an object of name -> {{sha256, size}}"
    if len(files) > MAX_FILES:
        return f"{MANIFEST} lists {len(files)} files, more than {MAX_FILES}"
    for name, entry in files.items():
        ok = (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and _HEX64.match(entry["sha256"])
              and isinstance(entry.get("size"), int) and not isinstance(entry.get("size"), bool)
              and 0 <= entry["size"] <= MAX_BYTES)
        if not ok:
            return f"{MANIFEST}: files[{name[:80]!r}] must be {{\"sha256\": 64 hex digits, \"size\": bytes}}"
    for key in ("participant", "session"):
        if not isinstance(m.get(key), str):
            return f"{MANIFEST}: {key!r} must be a string label"
    for key in ("runs",):
        if key in m and not isinstance(m[key], list):
            return f"{MANIFEST}: {key!r} must be a list"
    for key in ("model", "protocol"):
        if m.get(key) is not None and not isinstance(m[key], dict):
            return f"{MANIFEST}: {key!r} must be an object or null"
    return None


def import_limit_problem(infos: list[zipfile.ZipInfo], max_bytes: int, max_files: int) -> str | None:
    """Why extracting these entries is refused (too many, too large together, or a zip bomb), or None."""
    entries = [i for i in infos if not i.is_dir()]
    if len(entries) > max_files:
        return f"{len(entries)} files, more than the import limit of {max_files} (--max-files)"
    total = sum(i.file_size for i in entries)
    if total > max_bytes:
        return (f"{total / 2**20:.1f} MiB uncompressed, more than the import limit of {max_bytes / 2**20:.1f} MiB "
                "(--max-bytes)")
    for i in entries:
        if i.file_size > 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            return (f"entry {i.filename[:80]!r} inflates {i.compress_size} bytes to {i.file_size} "
                    f"(more than {MAX_RATIO}:1; a zip bomb?)")
    return None
