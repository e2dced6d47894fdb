"""``povlab streams`` / ``sim-tracker`` / ``replay`` over loopback LSL, and their one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.acquisition.sim_tracker import SimulatedTracker
from app.cli import main
from tests.unit.acquisition.test_replay_files import write_gaze_xdf

pylsl = pytest.importorskip("pylsl")
ROOT = Path(__file__).resolve().parents[2]


def test_streams_lists_a_stream(source_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    with SimulatedTracker(300, source_id=source_id, seed=0):
        assert main(["streams", "--timeout", "1.5"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if source_id in ln)
    assert "PovLab-SimTracker" in line and "300 Hz" in line and "left_x,left_y,right_x" in line and "host=" in line


def test_streams_check_reads_the_tracker(source_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    with SimulatedTracker(500, source_id=source_id, seed=0):
        assert main(["streams", "--check", "--source-id", source_id, "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "channel map (metadata): left_x=0, left_y=1, right_x=2, right_y=3" in out
    assert "lost 0" in out and "received 0," not in out


def test_sim_tracker_command_runs(source_id: str) -> None:
    env = dict(os.environ, LSLAPICFG=str(ROOT / "lsl_api.cfg"))
    r = subprocess.run([sys.executable, "-m", "app.cli", "sim-tracker", "--duration", "1", "--rate", "200",
                        "--source-id", source_id, "--seed", "1"], capture_output=True, text=True, timeout=60,
                       cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    assert f"source_id={source_id} at 200 Hz for 1 s" in r.stdout
    n = int(r.stdout.split("published ")[-1].split()[0])
    assert 150 <= n <= 210


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_wrong_channels_give_one_line_and_exit_2(source_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    info = pylsl.StreamInfo("NotAGazeLayout", "Gaze", 2, 100, "float32", source_id)
    chans = info.desc().append_child("channels")
    for lab in ("eeg1", "eeg2"):
        chans.append_child("channel").append_child_value("label", lab).append_child_value("type", "EEG")
    outlet = pylsl.StreamOutlet(info)
    assert main(["streams", "--check", "--source-id", source_id, "--timeout", "3"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("povlab: error: stream 'NotAGazeLayout' (2 channels: eeg1, eeg2)")
    assert "--channels" in line
    del outlet


def test_no_tracker_within_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["streams", "--check", "--source-id", "nobody-publishes-this", "--timeout", "0.5"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "no tracker stream with source_id 'nobody-publishes-this' found on LSL within 0.5 s" in line


def test_replay_command(tmp_path: Path, source_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    t = 10.0 + np.arange(100) / 500.0
    write_gaze_xdf(tmp_path / "r.xdf", t, np.column_stack([np.arange(100.0), np.arange(100.0)]))
    assert main(["replay", str(tmp_path / "r.xdf"), "--source-id", source_id, "--speed", "2"]) == 0
    out = capsys.readouterr().out
    assert f"as source_id={source_id}" in out and "published 100 samples" in out
    assert main(["replay", str(tmp_path / "absent.xdf")]) == 2
    assert "absent.xdf: file not found" in one_error_line(capsys.readouterr().err)
    assert main(["replay", str(tmp_path / "r.xdf"), "--speed", "0"]) == 2
    assert "replay speed must be from 0.01 to 100" in one_error_line(capsys.readouterr().err)


def test_bench_ingest_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["bench", "ingest", "--json", "--rate", "500", "--duration", "1"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["samples_lost"] == 0 and figures["samples_missing_vs_span"] == 0
    assert figures["samples_received"] >= 450 and figures["worker_error"] is None
    assert figures["ring_buffer_mb"] == pytest.approx((120 * 500 + 1) * 32 / 1e6, rel=0.01)
    assert {"acq_thread_cpu_pct_one_core", "acq_process_cpu_pct_one_core", "rss_mb"} <= set(figures)
