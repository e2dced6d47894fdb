"""Playback data of a recorded run: what is on screen, the scanpath so far, the gaze AOI and the live prediction."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import PovLabError
from app.runfolder.review import load_review


def test_a_session_folder_plays_back_with_its_layouts_and_images(session_dir: Path) -> None:
    r = load_review(session_dir)
    assert r.notes == [] and len(r.trials) == 2 and (r.geometry.width_px, r.geometry.height_px) == (1920, 1080)
    first = r.trials[0]
    assert first.image is not None and first.image.is_file() and first.layout.aois
    onset = first.record.stim_onset
    assert r.screen_at(onset - 0.1) == "fixation_cross" and r.screen_at(onset + 0.1) == "stimulus"
    assert r.trial_at(r.start - 1.0) is None and r.trial_at(onset) == 0
    t = onset + 3.0
    path = r.scanpath(t)
    f = r.fixations
    expected = f[(f[:, 4] == first.record.number) & (f[:, 0] + f[:, 1] <= t)]
    assert len(path) == len(expected) > 0
    assert [p[:2] for p in path] == [tuple(row) for row in expected[:, 2:4].tolist()]
    gaze = r.gaze_at(t)
    assert gaze is not None and r.raw_gaze(t).shape[1] == 2
    assert r.gaze_at(r.end + 10) is None  # past the data: no stale point


def test_the_prediction_at_a_time_is_the_newest_of_that_trial(session_dir: Path) -> None:
    r = load_review(session_dir)
    assert len(r.prediction_t) >= 1
    t_pred = float(r.prediction_t[0])
    k = r.trial_at(t_pred)
    assert k is not None and r.trials[k].record.number == int(r.predictions[0, 0])
    assert r.prediction_at(t_pred) == tuple(float(v) for v in r.predictions[0, 1:4])
    assert r.prediction_at(r.trials[k].record.start) is None  # not yet made at the trial's start


def test_an_xdf_alone_plays_back_with_aois_from_the_markers(session_dir: Path, tmp_path: Path) -> None:
    (xdf,) = session_dir.glob("*.xdf")
    alone = tmp_path / "copy.xdf"
    shutil.copy(xdf, alone)
    r = load_review(alone)
    full = load_review(session_dir)
    assert any("protocol.toml" in n for n in r.notes)
    for mine, theirs in zip(r.trials, full.trials, strict=True):
        assert [a.name for a in mine.layout.aois] == [a.name for a in theirs.layout.aois]
        np.testing.assert_allclose([a.bbox for a in mine.layout.aois], [a.bbox for a in theirs.layout.aois], atol=0.06)
        assert mine.image is None
    t = full.trials[0].record.stim_onset + 3.0
    assert r.aoi_at(t) == full.aoi_at(t)


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: p / "missing.xdf", id="missing"),
    pytest.param(lambda p: (p / "empty").mkdir() or p / "empty", id="folder-without-xdf"),
    pytest.param(lambda p: (p / "junk.xdf").write_bytes(b"not an xdf at all") and p / "junk.xdf", id="junk"),
])
def test_what_cannot_be_reviewed_says_why(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PovLabError):
        load_review(make(tmp_path))


def test_markers_alone_rebuild_the_live_layout(demo_protocol_path: Path) -> None:
    """The markers a session sends (DISPLAY_COORDS, TRIALID, IAREA, IMGLOAD) describe its screen without files."""
    from app.core.layout import layout_trial
    from app.core.markers import display_coords_marker, trial_start_markers
    from app.core.protocol import load_protocol
    from app.runfolder.review import _layout_from_markers, _marker_extras
    from app.runfolder.trial_records import parse_iareas

    protocol = load_protocol(demo_protocol_path)
    trial = protocol.trials[1]  # coffee: boxes and a polygon
    live = layout_trial(protocol, trial)
    texts = [display_coords_marker(1920, 1080), *trial_start_markers(4, trial, live)]
    stamps = np.arange(len(texts), dtype=np.float64)
    (display, images), areas = _marker_extras(stamps, texts), parse_iareas(texts, stamps)
    assert display == (1920, 1080)
    rebuilt = _layout_from_markers(trial.trial_id, trial.caption, areas[4], images[4], display)
    assert [(a.name, a.kind, a.index) for a in rebuilt.aois] == [(a.name, a.kind, a.index) for a in live.aois]
    np.testing.assert_allclose([a.bbox for a in rebuilt.aois], [a.bbox for a in live.aois], atol=0.06)
    np.testing.assert_allclose(rebuilt.image_rect, live.image_rect, atol=1.0)
    assert [w.text for w in rebuilt.words] == trial.caption.split()
