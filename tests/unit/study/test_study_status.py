"""``povlab study status``: participants and sessions of a study folder, crashed runs flagged, one protocol only."""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.runfolder.folder import find_runs, read_meta, write_meta
from app.runfolder.recover import recover_session
from app.runfolder.synthetic import make_session


@pytest.fixture
def study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    make_session(root, "01", "01", duration_s=42.0, seed=1)
    make_session(root, "02", "01", duration_s=42.0, seed=2)
    crashed = make_session(root, "03", "01", duration_s=22.0, seed=3, status="recording", gap=(4.0, 2.0))
    old = time.time() - 3600
    for p in crashed.iterdir():
        os.utime(p, (old, old))
    return root


def status_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["study", "status", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def expected_agreement(session: Path) -> tuple[float, int]:
    (run,) = find_runs(session)
    with open(run.trials_tsv) as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["practice"] == "0"]
    hits = [("yes", "no", "unclear")[int(np.argmax([float(r[k]) for k in ("p_yes", "p_no", "p_unclear")]))]
            == r["response"] for r in rows]
    return sum(hits) / len(hits), len(hits)


def test_status_lists_participants_sessions_quality_and_agreement(study: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    d = status_json(study, capsys)
    assert d["protocol"]["name"] == "POV demo" and len(d["protocol"]["sha256"]) == 64
    assert [p["participant"] for p in d["participants"]] == ["01", "02", "03"]
    s1 = d["participants"][0]["sessions"][0]
    assert (s1["status"], s1["trials_done"], s1["practice_done"], s1["trials_total"]) == ("complete", 3, 1, 6)
    assert s1["quality"]["validation_mean_deg"] == 0.42 and s1["quality"]["lost_pct"] == 0.0
    assert 0 < s1["quality"]["invalid_pct"] < 10  # blinks of the synthetic gaze
    want, n = expected_agreement(study / "sub-01" / "ses-01")
    assert s1["agreement"] == pytest.approx(want, abs=1e-4) and s1["agreement_trials"] == n == 3
    assert s1["action"] is None
    s3 = d["participants"][2]["sessions"][0]
    assert s3["status"] == "crashed" and s3["action"] == f"povlab recover {study / 'sub-03' / 'ses-01'}"
    assert s3["quality"]["gaps"] == 1 and s3["quality"]["gap_s"] == pytest.approx(2.0)
    assert d["totals"] == {"participants": 3, "sessions": 3, "trials_done": 7, "needs_recovery": 1,
                           "agreement": pytest.approx(d["totals"]["agreement"]), "agreement_trials": 7}


def test_text_table_and_recover_action(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "status", str(study)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"study {study}: protocol 'POV demo'") and "3 participants, 3 sessions" in lines[0]
    assert lines[1].split()[:5] == ["participant", "session", "run", "status", "trials"]
    row3 = next(line for line in lines if line.startswith("sub-03"))
    assert " crashed " in row3 and row3.endswith(f"povlab recover {study / 'sub-03' / 'ses-01'}")
    # the action does what it says; afterwards the run shows as recovered and needs nothing
    recover_session(study / "sub-03" / "ses-01")
    d = status_json(study, capsys)
    s3 = d["participants"][2]["sessions"][0]
    assert s3["status"] == "recovered" and s3["action"] is None and d["totals"]["needs_recovery"] == 0


def test_a_session_still_writing_is_not_called_crashed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_session(tmp_path / "s", "01", "01", duration_s=12.0, status="recording")
    (s,) = status_json(tmp_path / "s", capsys)["participants"][0]["sessions"]
    assert s["status"] == "recording" and s["action"] is None


def test_folder_mixing_protocols_is_one_error(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run,) = find_runs(study / "sub-02" / "ses-01")
    meta = read_meta(run.session_json)
    write_meta(run.session_json, replace(meta, protocol_sha256="ab" * 32, protocol_name="Other study"))
    before = {p: p.read_bytes() for p in study.rglob("*") if p.is_file()}
    assert main(["study", "status", str(study)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"povlab: error: {study}: sessions of 2 protocols in one study folder: 'POV demo'")
    assert "'Other study' (sha256 abababab: sub-02/ses-01)" in line
    assert {p: p.read_bytes() for p in study.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("kind", ["missing", "empty", "bad-json"])
def test_not_a_study(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "x"
    if kind != "missing":
        folder.mkdir()
    if kind == "bad-json":
        (folder / "sub-01" / "ses-01").mkdir(parents=True)
        (folder / "sub-01" / "ses-01" / "sub-01_ses-01_task-pov_run-001_session.json").write_text("{not json")
    assert main(["study", "status", str(folder)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("povlab: error: ")
    assert {"missing": "study folder not found", "empty": "no sessions in this folder",
            "bad-json": "not valid JSON"}[kind] in line
