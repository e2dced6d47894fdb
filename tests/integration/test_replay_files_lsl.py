"""Files from other tools replayed over loopback LSL: what a receiver maps without flags equals what detect reads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.acquisition.inlet import GazeAcquisition
from app.acquisition.replay import Replayer, prepare_replay
from app.acquisition.tracker_spec import LslTrackerConnector, parse_tracker_spec
from app.core.errors import GazeDataError
from app.core.protocol import load_protocol
from app.formats.gazefile import map_recording, read_recording
from tests.unit.formats import vendor_xdf as vx

pytest.importorskip("pylsl")
ASC = Path(__file__).parents[1] / "fixtures" / "eyelink" / "raccoons.asc"


def _replay(path: Path, source_id: str, **kw: object) -> GazeAcquisition:
    rec, _ = prepare_replay(path, **kw)  # type: ignore[arg-type]
    rep = Replayer(rec, source_id=source_id, speed=4.0)
    rep.open()
    acq = GazeAcquisition.connect(source_id=source_id, timeout=5).start()  # no mapping, no preset
    runner = threading.Thread(target=rep.run, kwargs={"lead_s": 0.3})
    runner.start()
    runner.join(30)
    end = time.monotonic() + 5
    while acq.counters.received < len(rec.time_stamps) and time.monotonic() < end:
        time.sleep(0.02)
    acq.stop()
    rep.close()
    return acq


def test_replayed_two_channel_xdf_maps_without_flags(tmp_path: Path, source_id: str) -> None:
    t, x, y = vx.scanpath(90.0, seconds=3.0)
    f = vx.write(tmp_path / "4c.xdf", vx.tobii_4c(t, x, y), vx.markers(t[0]))
    acq = _replay(f, source_id, screen_px=(1920, 1080))
    b = acq.buffer.snapshot()
    assert len(b) == len(t) and acq.channel_map.source == "metadata"
    np.testing.assert_allclose(b.x, x, atol=1e-2)
    np.testing.assert_allclose(b.y, y, atol=1e-2)


def test_replayed_asc_maps_as_detect_reads_it(tmp_path: Path, source_id: str) -> None:
    acq = _replay(ASC, source_id)
    b = acq.buffer.snapshot()
    mapped = map_recording(read_recording(ASC))
    assert len(b) == len(mapped.block) == 433
    np.testing.assert_array_equal(np.isnan(b.x), np.isnan(mapped.block.x))
    np.testing.assert_allclose(b.x, mapped.block.x, equal_nan=True, atol=1e-3)


def test_run_tracker_replay_applies_channels_to_the_file(tmp_path: Path, short_protocol: Path) -> None:
    """``run --tracker replay:FILE --channels ...``: the replay publishes screen pixels, the session maps them."""
    t, x, y = vx.scanpath(90.0, seconds=2.0)
    f = vx.write(tmp_path / "4c.xdf", vx.tobii_4c(t, x, y))
    protocol = load_protocol(short_protocol)
    connector = LslTrackerConnector(parse_tracker_spec(f"replay:{f}"), mapping="right_x=0,right_y=1,unit=normalized")
    tracker = connector.connect(protocol, "no-markers")
    try:
        labels = tracker.stream.labels
        assert labels == ("right_x", "right_y")
    finally:
        tracker.close()


def test_session_on_a_replayed_two_channel_file_needs_no_flags(tmp_path: Path, short_protocol: Path) -> None:
    from app.presentation.headless import HeadlessPresenter
    from app.session.runner import Session, SessionConfig

    t, x, y = vx.scanpath(90.0, seconds=2.0)
    f = vx.write(tmp_path / "4c.xdf", vx.tobii_4c(t, x, y))
    session = Session(SessionConfig(short_protocol, "P07", out=tmp_path / "out", model=None),
                      HeadlessPresenter(seed=1), tracker=LslTrackerConnector(parse_tracker_spec(f"replay:{f}")))
    try:
        session.prepare()
        cm = session.acquisition.channel_map
        assert cm.source == "metadata" and cm.unit == "pixels" and cm.eyes == ("left",)
    finally:
        session.close()


def test_streams_check_reads_a_replayed_two_channel_file_without_flags(tmp_path: Path, source_id: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    n = 900
    t = 2000.0 + np.arange(n) / 90.0
    x, y = np.full(n, 480.0), np.full(n, 270.0)  # parked at (0.25, 0.25) of a 1920x1080 screen
    f = vx.write(tmp_path / "4c.xdf", vx.tobii_4c(t, x, y))
    rec, how = prepare_replay(f, screen_px=(1920, 1080))
    assert "inferred" in how and "published in screen pixels" in how
    rep = Replayer(rec, source_id=source_id)
    rep.open()
    runner = threading.Thread(target=rep.run, kwargs={"lead_s": 0.5}, daemon=True)
    runner.start()
    try:
        assert main(["streams", "--check", "--source-id", source_id, "--seconds", "1.5", "--timeout", "5"]) == 0
    finally:
        rep.stop()
        runner.join(10)
    out = capsys.readouterr().out
    assert "channel map (metadata)" in out and "mean gaze (480, 270) px" in out


def test_run_tracker_replay_chooses_the_stream_of_a_file(tmp_path: Path, short_protocol: Path) -> None:
    t, x, y = vx.scanpath(500.0, seconds=1.0)
    f = vx.write(tmp_path / "two.xdf", vx.tobii_pro(t, x, y), vx.eyelink_app(t, x, y))
    protocol = load_protocol(short_protocol)
    with pytest.raises(GazeDataError, match="several gaze streams"):
        LslTrackerConnector(parse_tracker_spec(f"replay:{f}")).connect(protocol, "no-markers")
    tracker = LslTrackerConnector(parse_tracker_spec(f"replay:{f}"), stream="EyeLink").connect(protocol, "no-markers")
    try:
        assert tracker.stream.name == "EyeLink" and tracker.stream.n_channels == 10
    finally:
        tracker.close()


def test_replay_cli_publishes_an_asc_file_and_refuses_a_file_without_gaze(
        tmp_path: Path, source_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    assert main(["replay", str(ASC), "--source-id", source_id, "--speed", "4"]) == 0
    out = capsys.readouterr().out
    assert "published as recorded, channel map from the file's channel metadata" in out
    assert "replay: published 433 samples" in out
    t, _, _ = vx.scanpath(100.0, seconds=1.0)
    f = vx.write(tmp_path / "eeg.xdf", vx.eeg(t))
    assert main(["replay", str(f), "--source-id", source_id + "-2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no gaze stream" in err
