"""The tolerant XDF reader: complete files as pyxdf reads them; damaged files loaded in part, the loss reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.core.errors import RecordingError
from app.formats.xdf_format import BOUNDARY_UUID
from app.formats.xdf_reader import read_session_xdf


def _xdf(session_dir: Path) -> Path:
    return next(session_dir.glob("*.xdf"))


def test_complete_file_matches_pyxdf(session_dir: Path) -> None:
    path = _xdf(session_dir)
    ours = read_session_xdf(path, clock_correct=False)
    theirs, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    assert ours.complete and ours.losses == [] and ours.unread_bytes == 0
    assert set(ours.streams) == {s["info"]["name"][0] for s in theirs}
    for s in theirs:
        mine = ours.streams[s["info"]["name"][0]]
        np.testing.assert_array_equal(mine.time_stamps, s["time_stamps"])
        if mine.channel_format == "string":
            assert mine.time_series == s["time_series"]
        else:
            np.testing.assert_array_equal(mine.time_series, s["time_series"])
    gaze = ours.by_type("Gaze")
    assert gaze is not None and gaze.channels[:2] == ("left_x", "left_y") and gaze.nominal_srate == 1000.0


@pytest.mark.parametrize("keep_fraction", [
    pytest.param(0.999, id="last-chunk-cut"),
    pytest.param(0.5, id="cut-in-the-middle"),
    pytest.param(0.05, id="cut-near-the-start"),
])
def test_truncated_file_keeps_complete_samples(session_dir: Path, tmp_path: Path, keep_fraction: float) -> None:
    full = _xdf(session_dir).read_bytes()
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(full[: int(len(full) * keep_fraction)])
    whole = read_session_xdf(_xdf(session_dir), clock_correct=False).streams["PovLab-SimTracker"]
    part = read_session_xdf(cut, clock_correct=False)
    gaze = part.streams["PovLab-SimTracker"]
    assert not part.complete
    assert any("no footer" in line for line in part.losses)
    # a prefix of the original samples, exactly, and about the fraction of them that was kept
    n = len(gaze)
    np.testing.assert_array_equal(gaze.time_stamps, whole.time_stamps[:n])
    np.testing.assert_array_equal(gaze.time_series, whole.time_series[:n])
    assert n >= 0.9 * keep_fraction * len(whole) - 600


def test_corrupt_bytes_skip_to_next_boundary(session_dir: Path, tmp_path: Path) -> None:
    data = bytearray(_xdf(session_dir).read_bytes())
    boundaries = [i for i in range(len(data)) if data.startswith(BOUNDARY_UUID, i)]
    assert len(boundaries) >= 3
    hit = (boundaries[0] + boundaries[1]) // 2
    # overwrite a whole stretch with garbage length prefixes
    data[hit:hit + 64] = b"\x07" * 64
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(bytes(data))
    whole = read_session_xdf(_xdf(session_dir)).streams["PovLab-SimTracker"]
    got = read_session_xdf(bad)
    assert any("corrupt data" in line and "next boundary chunk" in line for line in got.losses)
    assert 0 < got.unread_bytes < boundaries[1] - boundaries[0] + 200
    gaze = got.streams["PovLab-SimTracker"]
    assert 0.7 * len(whole) < len(gaze) < len(whole)
    assert gaze.time_stamps[-1] == whole.time_stamps[-1]  # reading went on after the damage
    assert np.all(np.diff(gaze.time_stamps) > 0)


@pytest.mark.parametrize("content, match", [
    pytest.param(b"", "empty or not an XDF", id="empty"),
    pytest.param(b"PK\x03\x04 this is a zip", "no 'XDF:' magic", id="not-xdf"),
])
def test_unreadable_files_raise_one_clear_error(tmp_path: Path, content: bytes, match: str) -> None:
    p = tmp_path / "x.xdf"
    p.write_bytes(content)
    with pytest.raises(RecordingError, match=match):
        read_session_xdf(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open XDF"):
        read_session_xdf(tmp_path / "nope.xdf")
