"""Every reader of session.json goes through RunMetadata: a bad file is one error line naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.run_metadata import RunMetadata, SessionStatus
from app.runfolder.folder import find_runs
from app.runfolder.recover import recover_session
from app.runfolder.synthetic import make_session


def _meta_file(folder: Path) -> Path:
    return next(folder.glob("*_session.json"))


def test_runs_carry_the_typed_record(session_dir: Path) -> None:
    (run,) = find_runs(session_dir)
    assert isinstance(run.meta, RunMetadata) and run.status is SessionStatus.COMPLETE
    assert run.screen().width_px == 1920 and run.meta.tracker is not None and run.meta.tracker.rate == 1000.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"operator": "ann"}, "unknown key 'operator'", id="unknown-key"),
        pytest.param({"counters": {"received": "many", "lost": 0, "invalid": 0}}, "counters.received: expected an "
                     "integer", id="wrong-type"),
        pytest.param({"status": "paused"}, "status: 'paused' is not one of", id="unknown-status"),
    ],
)
@pytest.mark.parametrize("command", ["export", "bundle", "recover"])
def test_a_bad_session_json_is_one_error_line(session_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              command: str, change: dict, message: str) -> None:
    path = _meta_file(session_dir)
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    before = path.read_bytes()
    args = {"export": ["export", str(session_dir), "--bids", str(tmp_path / "bids")],
            "bundle": ["bundle", str(session_dir), "--out", str(tmp_path / "b.zip")],
            "recover": ["recover", str(session_dir)]}[command]
    assert main(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"povlab: error: {path}: ") and message in line
    assert path.read_bytes() == before, "the file is left as it was"


def test_recovery_writes_the_record_back(tmp_path: Path) -> None:
    folder = make_session(tmp_path, duration_s=12.0, status="recording")
    (rec,) = recover_session(folder)
    assert rec.recovered and rec.status_before is SessionStatus.RECORDING
    (run,) = find_runs(folder)
    assert run.status is SessionStatus.RECOVERED and run.meta.recovery is not None
    assert run.meta.recovery.status_before == "recording" and run.meta.recovery.samples["PovLab-SimTracker"] > 0
    assert json.loads(_meta_file(folder).read_text())["status"] == "recovered"
