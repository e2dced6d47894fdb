"""Fault: the tracker's LSL app is killed (kill -9) and started again with another source_id during a session:
the session follows it by name and host, marks the gap and records gaze after it into the same XDF."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.acquisition.tracker_spec import LslTrackerConnector, parse_tracker_spec
from app.presentation.headless import HeadlessPresenter
from app.session.runner import Session, SessionConfig
from app.session.updates import SessionWarning

pytestmark = pytest.mark.slow  # ~25 s: a tracker process killed and started again
ROOT = Path(__file__).resolve().parents[2]


def tracker_process(name: str, source_id: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LSLAPICFG=str(ROOT / "lsl_api.cfg"))
    p = subprocess.Popen([sys.executable, "-m", "tests.fixtures.tracker_process", "--name", name,
                          "--source-id", source_id], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def test_tracker_killed_and_restarted_with_a_new_source_id(short_protocol: Path, tmp_path: Path) -> None:
    name = f"EyeLink-{uuid.uuid4().hex[:8]}"
    procs = [tracker_process(name, f"eyelink-{name}-first")]
    outage: dict[str, float] = {}

    def restart() -> None:
        time.sleep(4.0)
        procs[0].send_signal(signal.SIGKILL)  # the app dies: no goodbye on LSL
        procs[0].wait()
        time.sleep(3.0)
        procs.append(tracker_process(name, f"eyelink-{name}-second"))
        outage["back"] = time.monotonic()

    events: list[object] = []
    cfg = SessionConfig(short_protocol, "P01", out=tmp_path, model=None, duration_s=20.0)
    tracker = LslTrackerConnector(parse_tracker_spec(f"lsl:{name}"))
    session = Session(cfg, HeadlessPresenter(seed=1, validation=False), listener=events.append, tracker=tracker)
    session.prepare()
    plug = threading.Thread(target=restart)
    plug.start()
    try:
        result = session.run()
    finally:
        plug.join()
        for p in procs:
            p.kill()
            p.wait()
    assert "back" in outage
    meta = json.loads(result.files.session_json.read_text())
    assert len(meta["gaps"]) == 1
    start, end = meta["gaps"][0]
    assert end - start > 2.0
    changes = meta["tracker_changes"]
    assert len(changes) == 1 and changes[0]["to"]["source_id"] == f"eyelink-{name}-second"
    assert changes[0]["recorded"] == "recorded as a new stream in the same XDF"
    assert changes[0]["channel_map"]["source"] == "vendor:eyelink"
    kinds = [e.kind for e in events if isinstance(e, SessionWarning)]
    assert {"stream_lost", "stream_changed", "stream_back"} <= set(kinds)

    streams = pyxdf.load_xdf(str(result.files.xdf))[0]
    by_id = {s["info"]["source_id"][0]: s for s in streams}
    markers = [m[0] for m in next(s for s in streams if s["info"]["name"][0] == "PovLab-Markers")["time_series"]]
    assert "GAP_START" in markers and "GAP_END" in markers
    first, second = by_id[f"eyelink-{name}-first"], by_id[f"eyelink-{name}-second"]
    assert first["time_stamps"][-1] <= start + 0.01 and second["time_stamps"][0] >= end - 0.01
    assert len(second["time_stamps"]) > 250, "gaze after the restart is recorded"
    np.testing.assert_allclose(second["time_series"][:, 0], 480.0)
    # the live pipeline read the second outlet too, not only the first
    assert meta["counters"]["received"] > len(first["time_stamps"]) + 200
