"""Replay over real LSL on loopback: samples, intervals and metadata come back as recorded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.acquisition.discovery import find_gaze_stream, read_desc_values
from app.acquisition.inlet import GazeAcquisition
from app.acquisition.replay import Replayer, load_recording
from app.acquisition.sim_tracker import SimulatedTracker
from app.core.synthetic_gaze import SimParams
from tests.unit.acquisition.test_replay_files import write_gaze_xdf

pylsl = pytest.importorskip("pylsl")


def replay_and_acquire(path: Path, source_id: str, n_expected: int) -> tuple[GazeAcquisition, Replayer]:
    rep = Replayer(load_recording(path), source_id=source_id)
    rep.open()
    acq = GazeAcquisition.connect(source_id=source_id, timeout=5).start()
    runner = threading.Thread(target=rep.run, kwargs={"lead_s": 0.3})
    runner.start()
    runner.join(30)
    end = time.monotonic() + 5
    while acq.counters.received < n_expected and time.monotonic() < end:
        time.sleep(0.02)
    acq.stop()
    rep.close()
    return acq, rep


def test_replay_reproduces_samples_and_timing(tmp_path: Path, source_id: str) -> None:
    t = 50.0 + np.arange(400) / 500.0
    t[200:] += 0.04  # 20 samples missing in the recording: the replay keeps the hole
    data = np.column_stack([100 + np.arange(400.0), 200 + np.arange(400.0)])
    write_gaze_xdf(tmp_path / "rec.xdf", t, data)
    acq, rep = replay_and_acquire(tmp_path / "rec.xdf", source_id, 400)
    b = acq.buffer.snapshot()
    assert rep.samples_pushed == 400 and len(b) == 400
    np.testing.assert_array_equal(b.x, data[:, 0])
    np.testing.assert_array_equal(b.y, data[:, 1])
    np.testing.assert_allclose(np.diff(b.t), np.diff(t), atol=1e-6)
    assert acq.counters.lost == 20 and acq.channel_map.source == "metadata"


def test_replay_of_a_recording_made_by_the_recorder(tmp_path: Path, source_id: str) -> None:
    recorder = pytest.importorskip("app.recording.xdf_recorder")
    params = SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0)
    with SimulatedTracker(250, params=params, source_id=source_id + "-sim", seed=1):
        d = find_gaze_stream(source_id=source_id + "-sim", timeout=5)
        rec = recorder.XdfRecorder(tmp_path / "sim.xdf", [d.resolved])
        rec.start()
        time.sleep(1.0)
        rec.stop()
    recorded = load_recording(tmp_path / "sim.xdf")
    n = len(recorded.time_stamps)
    assert n > 150 and recorded.name == "PovLab-SimTracker"
    acq, _ = replay_and_acquire(tmp_path / "sim.xdf", source_id, n)
    b = acq.buffer.snapshot()
    assert len(b) == n
    np.testing.assert_allclose(b.x, recorded.data[:, [0, 2]].mean(axis=1))
    np.testing.assert_allclose(np.diff(b.t), np.diff(recorded.time_stamps), atol=1e-6)
    # metadata travels: channel layout and the screen geometry
    assert acq.stream.labels == ("left_x", "left_y", "right_x", "right_y", "left_pupil", "right_pupil")
    assert read_desc_values(acq.stream_info, "screen")["width_px"] == "1920"
