"""Fault: the tracker stream vanishes for 10 s and comes back; the gap is marked, the session goes on."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.acquisition.sim_tracker import SimulatedTracker
from app.acquisition.tracker_spec import LslTrackerConnector, TrackerSpec
from app.presentation.headless import HeadlessPresenter
from app.session.runner import Session, SessionConfig
from app.session.updates import SessionWarning

pytestmark = pytest.mark.slow  # ~30 s: a real 10 s outage


def test_tracker_vanishes_for_10_s_and_returns(demo_protocol_path: Path, tmp_path: Path, source_id: str) -> None:
    trackers = [SimulatedTracker(rate_hz=250.0, source_id=source_id, seed=1).start()]
    outage: dict[str, float] = {}

    def pull_the_plug() -> None:
        time.sleep(4.0)
        outage["start"] = time.monotonic()
        trackers[0].stop()
        time.sleep(10.0)
        trackers.append(SimulatedTracker(rate_hz=250.0, source_id=source_id, seed=2).start())
        outage["end"] = time.monotonic()

    events: list[object] = []
    cfg = SessionConfig(demo_protocol_path, "P01", out=tmp_path, model=None, duration_s=22.0)
    session = Session(cfg, HeadlessPresenter(seed=1, validation=False), listener=events.append,
                      tracker=LslTrackerConnector(TrackerSpec("lsl-id", source_id)))
    session.prepare()
    plug = threading.Thread(target=pull_the_plug)
    plug.start()
    try:
        result = session.run()
    finally:
        plug.join()
        for t in trackers:
            t.stop()
    assert result.status in ("complete", "aborted")
    meta = json.loads(result.files.session_json.read_text())
    assert len(meta["gaps"]) == 1
    start, end = meta["gaps"][0]
    assert 9.0 <= end - start <= 14.0
    kinds = [type(e).__name__ + ":" + getattr(e, "kind", "") for e in events if isinstance(e, SessionWarning)]
    assert "SessionWarning:stream_lost" in kinds and "SessionWarning:stream_back" in kinds

    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(result.files.xdf))[0]}
    markers = [m[0] for m in streams["PovLab-Markers"]["time_series"]]
    assert "GAP_START" in markers and "GAP_END" in markers
    ts = streams["PovLab-SimTracker"]["time_stamps"]
    assert np.any(ts > end), "gaze after the outage is recorded too"
    assert not np.any((ts > start + 0.5) & (ts < end - 0.5)), "nothing is invented inside the gap"
