"""Our XDF is LabRecorder's XDF: header and footer fields as it writes them, and the readers labs use open it."""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.formats.xdf_reader import read_session_xdf
from app.formats.xdf_writer import XdfWriter, file_header_xml, minimal_info_xml, stream_footer_xml


def _chunks(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    assert data[:4] == b"XDF:"
    out, i = [], 4
    while i < len(data):
        nb = data[i]
        n = int.from_bytes(data[i + 1:i + 1 + nb], "little")
        i += 1 + nb
        tag = struct.unpack("<H", data[i:i + 2])[0]
        out.append((tag, data[i + 2:i + n]))
        i += n
    return out


def test_file_header_is_labrecorders(tmp_path: Path) -> None:
    w = XdfWriter(tmp_path / "a.xdf")
    w.close()
    (tag, content), = _chunks(tmp_path / "a.xdf")
    assert tag == 1
    text = content.decode()
    m = re.fullmatch(r'<\?xml version="1.0"\?><info><version>1.0</version><datetime>(.+)</datetime></info>', text)
    assert m, text
    stamp = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S%z")  # LabRecorder's strftime format
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 3600
    assert re.search(r"[+-]\d{4}$", m.group(1))  # +0000, never +00:00


def test_header_and_footer_text_exactly() -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30)))
    assert file_header_xml(when) == ('<?xml version="1.0"?><info><version>1.0</version>'
                                     "<datetime>2026-03-04T05:06:07-0530</datetime></info>")
    assert stream_footer_xml(1234.5678901234567, 1240.0, 3, [(1235.25, -0.001)]) == (
        '<?xml version="1.0"?><info><first_timestamp>1234.567890123457</first_timestamp>'
        "<last_timestamp>1240</last_timestamp><sample_count>3</sample_count><clock_offsets>"
        "<offset><time>1235.25</time><value>-0.001</value></offset></clock_offsets></info>")
    # a stream that never sent a sample: LabRecorder's 0, not 'nan'
    assert "<first_timestamp>0</first_timestamp><last_timestamp>0</last_timestamp>" in stream_footer_xml(
        float("nan"), float("nan"), 0, [])


def test_empty_stream_footer_loads(tmp_path: Path) -> None:
    w = XdfWriter(tmp_path / "e.xdf")
    w.stream_header(1, minimal_info_xml("E", "Markers", 1, 0.0, "string"))
    w.stream_footer(1, float("nan"), float("nan"), 0, [])
    w.close()
    streams, header = pyxdf.load_xdf(str(tmp_path / "e.xdf"))
    assert streams[0]["footer"]["info"]["first_timestamp"] == ["0"]
    assert "datetime" in header["info"]


def test_session_xdf_opens_in_mne_xdf_and_pyxdf(session_dir: Path) -> None:
    mne_xdf = pytest.importorskip("mne_xdf")
    xdf = next(session_dir.glob("*.xdf"))
    streams, header = pyxdf.load_xdf(str(xdf))
    ids = {s["info"]["name"][0]: s["info"]["stream_id"] for s in streams}
    contents = read_session_xdf(xdf)
    gaze, markers = contents.streams["PovLab-SimTracker"], contents.streams["PovLab-Markers"]
    raw = mne_xdf.read_raw_xdf(str(xdf), stream_ids=[ids["PovLab-SimTracker"]])
    assert raw.ch_names == list(gaze.channels)
    assert raw.n_times == len(gaze)
    np.testing.assert_allclose(raw.get_data()[0], gaze.time_series[:, 0], equal_nan=True)
    assert raw.info["sfreq"] == pytest.approx(1000.0, rel=1e-3)
    # the markers stream (0 Hz, one channel) becomes annotations, one per marker, at its time
    assert list(raw.annotations.description) == markers.strings()
    np.testing.assert_allclose(raw.annotations.onset, markers.time_stamps - gaze.time_stamps[0], atol=1e-3)
    want = dt.datetime.strptime(header["info"]["datetime"][0], "%Y-%m-%dT%H:%M:%S%z")
    assert raw.info["meas_date"] == want.astimezone(dt.UTC)


def test_rewritten_file_keeps_the_recordings_datetime(tmp_path: Path) -> None:
    from app.formats.xdf_format import write_streams

    src = tmp_path / "a.xdf"
    w = XdfWriter(src, recorded_at="2025-06-07T08:09:10+0200")
    w.stream_header(1, minimal_info_xml("M", "Markers", 1, 0.0, "string"))
    w.samples(1, "string", np.array([1.0, 2.0]), [["a"], ["b"]])
    w.close()  # no footer: a crashed recording
    contents = read_session_xdf(src)
    assert contents.recorded_at == "2025-06-07T08:09:10+0200" and not contents.complete
    write_streams(tmp_path / "b.xdf", list(contents.streams.values()), recorded_at=contents.recorded_at)
    _, header = pyxdf.load_xdf(str(tmp_path / "b.xdf"))
    assert header["info"]["datetime"] == ["2025-06-07T08:09:10+0200"]
    # a malformed stamp is not copied: the file gets the time it is written
    XdfWriter(tmp_path / "c.xdf", recorded_at="yesterday").close()
    _, header = pyxdf.load_xdf(str(tmp_path / "c.xdf"))
    dt.datetime.strptime(header["info"]["datetime"][0], "%Y-%m-%dT%H:%M:%S%z")
