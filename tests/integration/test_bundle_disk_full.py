"""Fault: the disk fills up while exporting, bundling, importing or recovering.

Each stops cleanly with one clear line, leaves no half-written file and keeps the input as it
was. Two ways to run out of space: a file-size limit (RLIMIT_FSIZE, works for any user) and a
real 2 MiB tmpfs (needs root; skipped otherwise).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import BundleError, PovLabError
from app.runfolder.bids_export import export_session
from app.runfolder.bundle import bundle_session, import_bundle
from app.runfolder.recover import recover_session
from app.runfolder.synthetic import make_session

ROOT = Path(__file__).resolve().parents[2]


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    return make_session(tmp_path / "data", duration_s=45.0)  # XDF about 2.6 MB: more than the 2 MiB disk


@pytest.mark.parametrize("args, leftover", [
    pytest.param(["bundle", "{session}", "--out", "{tmp}/out/s.zip"], "out", id="bundle"),
    pytest.param(["export", "{session}", "--bids", "{tmp}/bids"], "bids", id="export"),
])
def test_file_size_limit_stops_cleanly(session_dir: Path, tmp_path: Path, args: list[str], leftover: str) -> None:
    before = {p: p.read_bytes() for p in session_dir.rglob("*") if p.is_file()}
    argv = [a.format(session=session_dir, tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "app", *argv], cwd=ROOT, capture_output=True, text=True,
                          preexec_fn=_limit_file_size, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "File too large" in err[0] and "Traceback" not in proc.stderr
    # nothing half-written is left: no partial zip, no staging folder, no half a dataset
    left = [p for p in (tmp_path / leftover).rglob("*") if p.is_file()] if (tmp_path / leftover).exists() else []
    assert left == []
    assert {p: p.read_bytes() for p in session_dir.rglob("*") if p.is_file()} == before


def test_small_disk_bundle_import_export(session_dir: Path, tmp_path: Path, small_disk: Path) -> None:
    with pytest.raises(BundleError, match="No space left on device"):
        bundle_session(session_dir, small_disk / "s.zip")
    assert list(small_disk.iterdir()) == []
    with pytest.raises(BundleError, match="No space left on device"):
        export_session(session_dir, small_disk / "bids")
    assert [p for p in small_disk.rglob("*") if p.is_file()] == []
    bundle_session(session_dir, tmp_path / "s.zip")
    with pytest.raises(BundleError, match="No space left on device"):
        import_bundle(tmp_path / "s.zip", small_disk / "lab")
    assert [p for p in small_disk.rglob("*") if p.is_file()] == []


def test_recover_on_a_small_disk_keeps_the_original(session_dir: Path, small_disk: Path) -> None:
    """A disk-full recording: the XDF was cut by ENOSPC. Recovering in place cannot write and says so."""
    folder = small_disk / "sub-01" / "ses-01"
    shutil.copytree(session_dir, folder, ignore=shutil.ignore_patterns("*.xdf", "stimuli"))
    xdf = next(session_dir.glob("*.xdf")).read_bytes()
    target = folder / next(session_dir.glob("*.xdf")).name
    with open(target, "wb") as fh:  # fill the disk the way a recording does
        try:
            fh.write(xdf)
        except OSError:
            pass  # ENOSPC: what fitted is on disk, as after a disk-full recording
    cut = target.read_bytes()
    assert 0 < len(cut) < len(xdf)
    meta_path = next(folder.glob("*_session.json"))
    meta = json.loads(meta_path.read_text())
    meta["status"] = "disk_full"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(PovLabError, match="No space left on device"):
        recover_session(folder)
    assert target.read_bytes() == cut  # the original is back where it was, unchanged
    assert not target.with_name(target.name + ".crashed").exists()
    # moved to a disk with room, the same folder recovers
    room = session_dir.parent.parent / "room"
    shutil.copytree(folder, room)
    [rec] = recover_session(room)
    assert rec.recovered and rec.status_before == "disk_full" and rec.samples["PovLab-SimTracker"] > 10000
