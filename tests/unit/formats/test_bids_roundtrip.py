"""POV Lab's own BIDS export read back through the one BIDS physio reader (detect and replay read it the same way)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.acquisition.replay import prepare_replay
from app.formats.gazefile import map_recording, read_recording
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.bids_export import export_session


def test_exported_physio_files_read_back_per_eye(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    gaze = read_session_xdf(next(session_dir.glob("*.xdf"))).streams["PovLab-SimTracker"]
    for label, eye, xcol in (("eye1", "left", 0), ("eye2", "right", 2)):
        (physio,) = ds.rglob(f"*_recording-{label}_physio.tsv.gz")
        rec = read_recording(physio)
        assert rec.format == "bids" and rec.rate_hz == 1000.0
        assert rec.geometry is not None and rec.geometry.distance_cm == 60.0  # from the task's events.json
        m = map_recording(rec)
        assert m.channel_map.eyes == (eye,) and m.channel_map.source == "metadata"
        assert len(m.block) == len(gaze)
        np.testing.assert_allclose(m.block.x, gaze.time_series[:, xcol], atol=0.006, equal_nan=True)
        np.testing.assert_allclose(m.block.t, gaze.time_stamps, atol=1e-6)
        replayed, how = prepare_replay(physio.with_name(physio.name.replace(".tsv.gz", ".json")))
        assert "published as recorded" in how and replayed.n_channels == 3  # x, y, pupil


def test_a_recorded_gaze_stream_describes_its_screen(tmp_path: Path) -> None:
    """POV Lab's simulated tracker writes desc/screen (pixels and cm); detect takes the geometry from it."""
    from app.formats.xdf_format import XdfStream
    from tests.unit.formats import vendor_xdf as vx

    t, x, y = vx.scanpath(250.0, seconds=1.0)
    desc = ("<channels><channel><label>left_x</label><eye>left</eye><type>ScreenX</type><unit>pixels</unit></channel>"
            "<channel><label>left_y</label><eye>left</eye><type>ScreenY</type><unit>pixels</unit></channel></channels>"
            "<screen><width_px>1280</width_px><height_px>1024</height_px><width_cm>37.5</width_cm>"
            "<height_cm>30</height_cm><distance_cm>57</distance_cm></screen>")
    header = vx.header("PovLab-SimTracker", "Gaze", 2, "double64", 250.0, "sim-1", desc)
    f = vx.write(tmp_path / "run.xdf", XdfStream(1, "PovLab-SimTracker", "Gaze", "double64", 250.0, "sim-1",
                                                 ("left_x", "left_y"), (), header, t, np.column_stack([x, y])))
    rec = read_recording(f)
    assert rec.screen_px == (1280, 1024)
    assert rec.geometry is not None and (rec.geometry.width_cm, rec.geometry.distance_cm) == (37.5, 57.0)
