from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from app.acquisition.channels import from_metadata
from app.acquisition.replay import load_recording
from app.core.errors import GazeDataError


def gaze_header(name: str, source_id: str, rate: float) -> str:
    """A StreamHeader like our simulated tracker's (Gaze Meta-Data in desc/channels)."""
    chans = "".join(
        f"<channel><label>{lab}</label><eye>left</eye><type>{typ}</type><unit>px</unit></channel>"
        for lab, typ in (("left_x", "ScreenX"), ("left_y", "ScreenY")))
    return ('<?xml version="1.0"?><info>'
            f"<name>{name}</name><type>Gaze</type><channel_count>2</channel_count>"
            f"<channel_format>double64</channel_format><source_id>{source_id}</source_id>"
            f"<nominal_srate>{rate!r}</nominal_srate><version>1.1</version><created_at>0</created_at>"
            f"<uid>u-{source_id}</uid><session_id>default</session_id><hostname>h</hostname>"
            f"<desc><channels>{chans}</channels><screen><width_px>1920</width_px></screen></desc></info>")


def write_gaze_xdf(path: Path, t: np.ndarray, data: np.ndarray, with_markers: bool = True) -> None:
    from app.formats.xdf_format import XdfStream, stream_header_xml, write_streams

    streams = [XdfStream(1, "T-Gaze", "Gaze", "double64", 500.0, "src-g", ("left_x", "left_y"), ("px", "px"),
                         gaze_header("T-Gaze", "src-g", 500.0), t, data)]
    if with_markers:
        streams.append(XdfStream(2, "M", "Markers", "string", 0.0, "src-m", ("marker",), (),
                                 stream_header_xml("M", "Markers", ("marker",), "string", 0.0, "src-m"),
                                 np.array([t[0]]), [["TRIALID 1"]]))
    write_streams(path, streams)


def test_xdf_gaze_stream_with_metadata(tmp_path: Path) -> None:
    t = 100.0 + np.arange(300) / 500.0
    t[150:] += 0.1  # a hole the replay must keep
    data = np.column_stack([np.arange(300.0), -np.arange(300.0)])
    write_gaze_xdf(tmp_path / "rec.xdf", t, data)
    rec = load_recording(tmp_path / "rec.xdf")
    assert (rec.name, rec.type, rec.source_id, rec.rate_hz) == ("T-Gaze", "Gaze", "src-g", 500.0)
    np.testing.assert_allclose(rec.time_stamps, t)
    np.testing.assert_array_equal(rec.data, data)
    chans = [{k: v[0] for k, v in c.items()} for c in rec.desc["channels"][0]["channel"]]
    assert [c["type"] for c in chans] == ["ScreenX", "ScreenY"]
    cm = from_metadata(chans, 2, (1920, 1080))
    assert cm is not None and cm.eyes == ("left",)


def test_xdf_without_gaze_stream(tmp_path: Path) -> None:
    from app.formats.xdf_format import XdfStream, stream_header_xml, write_streams

    write_streams(tmp_path / "m.xdf", [XdfStream(2, "M", "Markers", "string", 0.0, "m", ("marker",), (),
                                                 stream_header_xml("M", "Markers", ("marker",), "string", 0.0, "m"),
                                                 np.array([1.0]), [["x"]])])
    with pytest.raises(GazeDataError, match=r"no gaze stream \(streams: M \(Markers, 1 ch\)\)"):
        load_recording(tmp_path / "m.xdf")


def write_physio(folder: Path, stem: str, rows: np.ndarray, meta: dict) -> Path:
    tsv = folder / f"{stem}.tsv.gz"
    with gzip.open(tsv, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write("\t".join("n/a" if np.isnan(v) else f"{v:g}" for v in r) + "\n")
    (folder / f"{stem}.json").write_text(json.dumps(meta), encoding="utf-8")
    return tsv


def test_bids_physio_with_timestamps_in_ms(tmp_path: Path) -> None:
    rows = np.array([[1000.0, 10, 20, 3.1], [1001.0, 11, 21, np.nan], [1002.0, 12, 22, 3.0]])
    meta = {"SamplingFrequency": 1000, "StartTime": 0, "Columns": ["timestamp", "x_coordinate", "y_coordinate",
                                                                      "pupil_size"],
            "RecordedEye": "right", "x_coordinate": {"Units": "pixel"}, "timestamp": {"Units": "ms"}}
    tsv = write_physio(tmp_path, "sub-01_task-pov_recording-eye1_physio", rows, meta)
    rec = load_recording(tsv)
    np.testing.assert_allclose(rec.time_stamps, [1.0, 1.001, 1.002])
    assert rec.data.shape == (3, 3) and np.isnan(rec.data[1, 2])
    chans = [{k: v[0] for k, v in c.items()} for c in rec.desc["channels"][0]["channel"]]
    cm = from_metadata(chans, 3, (1920, 1080))
    assert cm is not None and cm.eyes == ("right",) and cm.right_pupil == 2


def test_bids_physio_without_timestamp_column(tmp_path: Path) -> None:
    rows = np.array([[10.0, 20], [11, 21]])
    meta = {"SamplingFrequency": 500, "StartTime": -0.5, "Columns": ["x_coordinate", "y_coordinate"]}
    rec = load_recording(write_physio(tmp_path, "a_physio", rows, meta))
    np.testing.assert_allclose(rec.time_stamps, [-0.5, -0.498])


@pytest.mark.parametrize(("name", "content", "match"), [
    pytest.param("x.xdf", None, "file not found", id="missing"),
    pytest.param("x.txt", "1,2", "not a gaze file", id="unknown-kind"),
    pytest.param("x.xdf", "not an xdf", "not a readable XDF file", id="corrupt-xdf"),
    pytest.param("b_physio.tsv.gz", b"", "sidecar b_physio.json is missing", id="physio-without-sidecar"),
])
def test_bad_recordings(tmp_path: Path, name: str, content: object, match: str) -> None:
    p = tmp_path / name
    if isinstance(content, str):
        p.write_text(content)
    elif isinstance(content, bytes):
        p.write_bytes(content)
    with pytest.raises(GazeDataError, match=match):
        load_recording(p)
