"""Fault: the disk fills up during a recording (a real ``povlab run`` writing onto a 2 MiB tmpfs).

The session stops cleanly with one line that says so, what was written stays readable, and
``povlab recover`` (once the folder is on a disk with room) turns it into a valid session that
exports to BIDS with zero validator errors. Needs root for the tmpfs; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.formats.xdf_reader import read_session_xdf

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STEM = "sub-01_ses-01_task-pov_run-001"


def test_disk_full_during_recording(small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "app", "run", "--protocol", str(ROOT / "protocols" / "demo.toml"),
                           "--participant", "01", "--headless", "--no-model", "--out", str(small_disk),
                           "--sim-rate", "2000", "--seed", "1"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=240)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("povlab: error: disk full") and "what was written is kept" in last
    assert "Traceback" not in proc.stderr
    folder = small_disk / "sub-01" / "ses-01"
    # the final status reached session.json although the disk was full (the space reserved at the start)
    assert json.loads((folder / f"{STEM}_session.json").read_text())["status"] == "disk_full"
    assert not list(folder.glob(".*.reserve"))
    kept = read_session_xdf(folder / f"{STEM}.xdf")
    assert len(kept.streams["PovLab-SimTracker"]) > 5000 and not kept.complete

    room = tmp_path / "room" / "sub-01" / "ses-01"
    shutil.copytree(folder, room)
    assert main(["recover", str(room)]) == 0
    meta = json.loads((room / f"{STEM}_session.json").read_text())
    assert meta["status"] == "recovered"
    assert meta["recovery"]["samples"]["PovLab-SimTracker"] == len(kept.streams["PovLab-SimTracker"])
    assert read_session_xdf(room / f"{STEM}.xdf").complete
    assert main(["export", str(room), "--bids", str(tmp_path / "bids")]) == 0
    validator = shutil.which("bids-validator-deno")
    assert validator
    res = json.loads(subprocess.run([validator, "--json", str(tmp_path / "bids")], capture_output=True, text=True,
                                    timeout=120).stdout)
    assert [i for i in res["issues"]["issues"] if i["severity"] == "error"] == []
