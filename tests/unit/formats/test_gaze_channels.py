"""Export of any tracker: the recorded stream is mapped to pixels as the live session mapped it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import BundleError
from app.formats.xdf_format import stream_header_xml, write_streams
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.bids_export import export_session

BEH = Path("sub-01/ses-01/beh")
PREFIX = "sub-01_ses-01_task-pov_run-1"


def _as_tracker(session_dir: Path, name: str, labels: tuple[str, ...], columns: list[np.ndarray]) -> None:
    """Rewrite the session's XDF with its gaze re-published as another tracker's stream."""
    xdf = next(session_dir.glob("*.xdf"))
    contents = read_session_xdf(xdf, clock_correct=False)
    gaze = contents.streams["PovLab-SimTracker"]
    gaze.name, gaze.channels, gaze.units = name, labels, ("",) * len(labels)
    gaze.header_xml = stream_header_xml(name, "Gaze", labels, "double64", 1000.0, "tobii-123")
    gaze.time_series = np.column_stack(columns)
    xdf.unlink()
    write_streams(xdf, sorted(contents.streams.values(), key=lambda s: s.stream_id))
    meta_path = next(session_dir.glob("*_session.json"))
    meta = json.loads(meta_path.read_text())
    meta["tracker"]["name"] = name
    meta_path.write_text(json.dumps(meta))


def _physio_x(ds: Path, eye: str) -> np.ndarray:
    with gzip.open(ds / BEH / f"{PREFIX}_recording-{eye}_physio.tsv.gz", "rt") as fh:
        return np.array([np.nan if r.split("\t")[1] == "n/a" else float(r.split("\t")[1]) for r in fh])


def test_tobii_normalised_positions_become_pixels(session_dir: Path, tmp_path: Path) -> None:
    g = read_session_xdf(next(session_dir.glob("*.xdf"))).streams["PovLab-SimTracker"]
    lx, ly, rx, ry, lp, rp = (g.time_series[:, i] for i in range(6))
    _as_tracker(session_dir, "Tobii", ("left_x", "left_y", "left_pupil", "right_x", "right_y", "right_pupil"),
                [lx / 1920, ly / 1080, lp, rx / 1920, ry / 1080, rp])
    export_session(session_dir, tmp_path / "ds")
    np.testing.assert_allclose(_physio_x(tmp_path / "ds", "eye1"), lx, atol=0.006, equal_nan=True)
    np.testing.assert_allclose(_physio_x(tmp_path / "ds", "eye2"), rx, atol=0.006, equal_nan=True)
    side = json.loads((tmp_path / "ds" / BEH / f"{PREFIX}_recording-eye1_physio.json").read_text())
    assert side["x_coordinate"]["Units"] == "pixel" and "tobii" in side["x_coordinate"]["Description"]


def test_unmappable_stream_is_one_clear_error(session_dir: Path, tmp_path: Path) -> None:
    g = read_session_xdf(next(session_dir.glob("*.xdf"))).streams["PovLab-SimTracker"]
    _as_tracker(session_dir, "Mystery", ("a", "b"), [g.time_series[:, 0], g.time_series[:, 1]])
    with pytest.raises(BundleError, match="'Mystery'.*give the mapping"):
        export_session(session_dir, tmp_path / "ds")
    assert not (tmp_path / "ds" / "sub-01").exists()
