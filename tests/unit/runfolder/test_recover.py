"""Recovery of a run cut short at any byte: a valid session with everything the file held, the loss reported."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.cli import main
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.recover import recover_session

STEM = "sub-01_ses-01_task-pov_run-001"


def _crash(session_dir: Path, keep_fraction: float, trials_left: int) -> tuple[bytes, int]:
    """Make the folder look like a kill -9: XDF cut short, status still 'recording', trials.tsv behind."""
    xdf = session_dir / f"{STEM}.xdf"
    full = xdf.read_bytes()
    n_full = len(read_session_xdf(xdf).streams["PovLab-SimTracker"])
    xdf.write_bytes(full[: int(len(full) * keep_fraction)])
    meta_path = session_dir / f"{STEM}_session.json"
    meta = json.loads(meta_path.read_text())
    meta.update(status="recording", ended_utc=None)
    meta_path.write_text(json.dumps(meta))
    trials = session_dir / f"{STEM}_trials.tsv"
    lines = trials.read_text().splitlines(keepends=True)
    trials.write_text("".join(lines[: 1 + trials_left]))
    return full, n_full


@pytest.mark.parametrize("keep_fraction", [pytest.param(0.97, id="near-the-end"), pytest.param(0.6, id="mid-run")])
def test_recover_after_crash(session_dir: Path, keep_fraction: float) -> None:
    xdf = session_dir / f"{STEM}.xdf"
    data = xdf.read_bytes()
    stamp = read_session_xdf(xdf).recorded_at.encode()
    xdf.write_bytes(data.replace(stamp, b"2020-01-02T03:04:05+0000", 1))  # recorded long before it is recovered
    full, n_full = _crash(session_dir, keep_fraction, trials_left=0)
    cut_bytes = (session_dir / f"{STEM}.xdf").read_bytes()
    [rec] = recover_session(session_dir)
    assert rec.recovered and rec.status_before == "recording"
    # the original is kept untouched, the rewritten XDF is complete and opens in pyxdf
    assert (session_dir / f"{STEM}.xdf.crashed").read_bytes() == cut_bytes
    again = read_session_xdf(session_dir / f"{STEM}.xdf")
    assert again.complete
    # the header keeps the recording's date (what mne-xdf takes as meas_date), not the recovery's
    assert again.recorded_at == "2020-01-02T03:04:05+0000"
    streams, _ = pyxdf.load_xdf(str(session_dir / f"{STEM}.xdf"))
    gaze = next(s for s in streams if s["info"]["name"][0] == "PovLab-SimTracker")
    assert len(gaze["time_stamps"]) == rec.samples["PovLab-SimTracker"]
    # everything up to about the last second of what was written (LabRecorder-style 0.5 s chunks)
    assert rec.samples["PovLab-SimTracker"] >= keep_fraction * n_full - 1000
    meta = json.loads((session_dir / f"{STEM}_session.json").read_text())
    assert meta["status"] == "recovered"
    assert meta["recovery"]["status_before"] == "recording" and meta["recovery"]["losses"]
    assert meta["ended_utc"]
    with open(session_dir / f"{STEM}_trials.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert rows and rows[0]["trial_id"] == "t001" and rows[0]["response"] in ("yes", "no", "unclear")
    assert np.isfinite(float(rows[0]["p_yes"]))


def test_clean_session_is_left_alone(session_dir: Path) -> None:
    before = {p: p.read_bytes() for p in session_dir.rglob("*") if p.is_file()}
    [rec] = recover_session(session_dir)
    assert not rec.recovered
    assert {p: p.read_bytes() for p in session_dir.rglob("*") if p.is_file()} == before


def test_cli_recover_reports(session_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _crash(session_dir, 0.8, trials_left=1)
    assert main(["recover", str(session_dir)]) == 0
    out = capsys.readouterr().out
    assert "recovered" in out and "lost:" in out
    assert main(["recover", str(session_dir)]) == 0
    assert "nothing to recover" in capsys.readouterr().out
