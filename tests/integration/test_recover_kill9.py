"""Fault: the app is killed with ``kill -9`` mid-session; ``povlab recover`` makes a valid session of the folder.

The whole chain is real: ``povlab run`` (simulated tracker over LSL on loopback, headless
presenter, crash-safe XDF recorder) in a subprocess, SIGKILL by its PID, then ``povlab recover``,
``povlab export`` (checked by the official BIDS validator) and ``povlab bundle``/``verify``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pyxdf

from app.cli import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _wait_for(cond, what: str, limit_s: float = 90.0) -> None:
    deadline = time.monotonic() + limit_s  # a guard against hanging, not a timing assertion
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _trial_rows(folder: Path) -> int:
    files = list(folder.glob("*_trials.tsv"))
    return max(0, len(files[0].read_text().splitlines()) - 1) if files else 0


def test_kill_9_then_recover(short_protocol: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pylsl

    out = tmp_path / "sessions"
    folder = out / "sub-01" / "ses-01"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "app", "run", "--protocol", str(short_protocol),
                             "--participant", "01", "--headless", "--no-model", "--out", str(out), "--seed", "3"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _trial_rows(folder) >= 1, "the first trial to end")
        time.sleep(1.5)
        t_kill = pylsl.local_clock()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    stem = "sub-01_ses-01_task-pov_run-001"
    assert json.loads((folder / f"{stem}_session.json").read_text())["status"] == "recording"

    assert main(["recover", str(folder)]) == 0
    report = capsys.readouterr().out
    assert "recovered" in report
    meta = json.loads((folder / f"{stem}_session.json").read_text())
    assert meta["status"] == "recovered" and meta["recovery"]["status_before"] == "recording"
    assert (folder / f"{stem}.xdf.crashed").is_file()
    streams, _ = pyxdf.load_xdf(str(folder / f"{stem}.xdf"))
    by_name = {s["info"]["name"][0]: s for s in streams}
    gaze = by_name["PovLab-SimTracker"]
    # everything up to about the last second before the kill (the recorder flushes every 0.25 s)
    assert gaze["time_stamps"][-1] > t_kill - 1.5
    assert len(gaze["time_stamps"]) == meta["recovery"]["samples"]["PovLab-SimTracker"]
    with open(folder / f"{stem}_trials.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) >= 1 and rows[0]["response"]

    bids = tmp_path / "bids"
    assert main(["export", str(folder), "--bids", str(bids)]) == 0
    validator = shutil.which("bids-validator-deno")
    assert validator
    res = json.loads(subprocess.run([validator, "--json", str(bids)], capture_output=True, text=True,
                                    timeout=120).stdout)
    assert [i for i in res["issues"]["issues"] if i["severity"] == "error"] == []
    assert main(["bundle", str(folder), "--out", str(tmp_path / "s.zip")]) == 0
    assert main(["verify", str(tmp_path / "s.zip")]) == 0
