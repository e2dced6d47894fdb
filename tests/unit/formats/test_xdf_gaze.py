"""XDF files of vendor LSL apps (StreamInfos re-created from their source, see vendor_xdf.py): the gaze stream
is found without flags, mapped onto the screen as a live session maps it, and bad files give one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.core.errors import GazeDataError
from app.formats.gazefile import map_recording, read_recording
from tests.unit.formats import vendor_xdf as vx


@pytest.fixture(scope="module")
def path() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return vx.scanpath(600.0)


def test_tobii_pro_app_beside_eeg_and_markers(tmp_path: Path, path) -> None:
    t, x, y = path
    f = vx.write(tmp_path / "lab.xdf", vx.eeg(t[::2]), vx.tobii_pro(t, x, y), vx.markers(t[0]))
    rec = read_recording(f)
    assert (rec.name, rec.type, rec.rate_hz, rec.n_channels) == ("Tobii", "Eyetracker", 600.0, 6)
    m = map_recording(rec)
    # mapped from what the app publishes (its metadata / the vendor layout), not guessed
    assert m.channel_map.source in ("metadata", "vendor:tobii-pro") and m.channel_map.unit == "normalized"
    np.testing.assert_allclose(m.block.x, x, atol=1e-3)  # screencoords x 1920 px
    np.testing.assert_allclose(m.block.y, y, atol=1e-3)


def test_labrecorder_file_of_a_two_channel_tracker_without_metadata(tmp_path: Path, path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    t, x, y = path
    f = vx.write(tmp_path / "4c.xdf", vx.tobii_4c(t, x, y), vx.markers(t[0]))
    m = map_recording(read_recording(f))
    assert m.inferred and m.channel_map.unit == "normalized" and m.channel_map.eyes == ("left",)
    np.testing.assert_allclose(m.block.x, x, atol=1e-3)
    ev = tmp_path / "ev.tsv"
    assert main(["detect", str(f), "--events-out", str(ev)]) == 0  # no --channels needed
    captured = capsys.readouterr()
    assert "inferred: 2 channels without metadata taken as x, y in 0..1 of the screen" in captured.err
    fix = [r.split("\t") for r in ev.read_text().splitlines()[1:] if "\tfixation\t" in r]
    assert len(fix) >= 6
    assert all(0 <= float(r[3]) <= 1920 and 0 <= float(r[4]) <= 1080 for r in fix)  # pixels, not 0..1


def test_two_channels_in_pixels_are_taken_as_pixels(tmp_path: Path, path) -> None:
    t, x, y = path
    m = map_recording(read_recording(vx.write(tmp_path / "px.xdf", vx.tobii_4c(t, x, y, normalised=False))))
    assert m.channel_map.unit == "pixels"
    np.testing.assert_allclose(m.block.x, x, atol=1e-2)


def test_several_gaze_streams_are_not_guessed(tmp_path: Path, path, capsys: pytest.CaptureFixture[str]) -> None:
    t, x, y = path
    f = vx.write(tmp_path / "two.xdf", vx.tobii_pro(t, x, y), vx.eyelink_app(t, x, y))
    assert main(["detect", str(f), "--events-out", str(tmp_path / "ev.tsv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "several gaze streams (Tobii (Eyetracker, 6 ch), EyeLink (Gaze, 10 ch))" in err
    assert "--stream NAME" in err
    # --stream chooses; the EyeLink app's layout is recognised from its labels, 0 = no data
    m = map_recording(read_recording(f, stream="EyeLink"))
    assert m.channel_map.source in ("preset:eyelink", "vendor:eyelink")
    np.testing.assert_allclose(m.block.x, x)
    assert np.isnan(m.eyes["right"].x).all()
    assert main(["detect", str(f), "--stream", "eyelink-labpc", "--events-out", str(tmp_path / "ev.tsv")]) == 0


def test_channels_and_preset_work_on_files_as_on_streams(tmp_path: Path, path) -> None:
    t, x, y = path
    f = vx.write(tmp_path / "4c.xdf", vx.tobii_4c(t, x, y))
    m = map_recording(read_recording(f), mapping="right_x=0,right_y=1,unit=normalized")
    assert m.channel_map.source == "explicit" and m.channel_map.eyes == ("right",)
    np.testing.assert_allclose(m.block.y, y, atol=1e-3)
    with pytest.raises(GazeDataError, match="unknown channel preset 'smi'"):
        map_recording(read_recording(f), preset="smi")


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("povlab: error:") and "Traceback" not in err
    return err


def test_a_non_gaze_stream_is_refused(tmp_path: Path, path, capsys: pytest.CaptureFixture[str]) -> None:
    t, x, y = path
    f = vx.write(tmp_path / "lab.xdf", vx.tobii_pro(t, x, y), vx.eeg(t), vx.markers(t[0]))
    out = str(tmp_path / "ev.tsv")
    assert main(["detect", str(f), "--stream", "BioSemi", "--events-out", out]) == 2
    assert "stream 'BioSemi' (type EEG, 8 channels) is not a gaze stream" in _err(capsys)
    assert main(["detect", str(f), "--stream", "PsychoPyMarkers", "--events-out", out]) == 2
    assert "holds strings" in _err(capsys)
    assert main(["detect", str(f), "--stream", "Nope", "--events-out", out]) == 2
    assert "no stream named 'Nope' (streams: Tobii (Eyetracker, 6 ch), BioSemi (EEG, 8 ch)" in _err(capsys)


def test_no_gaze_stream(tmp_path: Path, path, capsys: pytest.CaptureFixture[str]) -> None:
    t, _, _ = path
    f = vx.write(tmp_path / "eeg.xdf", vx.eeg(t), vx.markers(t[0]))
    assert main(["detect", str(f), "--events-out", str(tmp_path / "ev.tsv")]) == 2
    assert "no gaze stream (streams: BioSemi (EEG, 8 ch), PsychoPyMarkers (Markers, 1 ch))" in _err(capsys)


def test_gaze_stream_without_samples(tmp_path: Path, path, capsys: pytest.CaptureFixture[str]) -> None:
    t, x, y = path
    empty = vx.tobii_pro(t[:0], x[:0], y[:0])
    f = vx.write(tmp_path / "empty.xdf", empty, vx.markers(t[0]))
    assert main(["detect", str(f), "--events-out", str(tmp_path / "ev.tsv")]) == 2
    assert "stream 'Tobii' has no samples" in _err(capsys)


@pytest.mark.parametrize("keep", [0.5, 0.9, 40, 5])
def test_truncated_xdf_gives_one_line_and_no_pyxdf_traceback(tmp_path: Path, path, capfd: pytest.CaptureFixture[str],
                                                             keep: float) -> None:
    t, x, y = path
    whole = vx.write(tmp_path / "whole.xdf", vx.tobii_pro(t, x, y), vx.markers(t[0])).read_bytes()
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(whole[: int(len(whole) * keep) if keep < 1 else int(keep)])
    assert main(["detect", str(cut), "--events-out", str(tmp_path / "ev.tsv")]) == 2
    out, err = capfd.readouterr()  # file-descriptor level: what pyxdf's logging would print
    assert out == "" and err.count("\n") == 1 and err.startswith("povlab: error:"), err
    assert "Traceback" not in err and ("truncated or corrupt" in err or "not a readable XDF file" in err)


# -- LabRecorder files of the vendor apps, their StreamInfos from tests/fixtures/vendor_streams.py -------------
def _labrecorder(path: Path, infos_and_samples: list[tuple[object, list[float]]], n: int = 200) -> Path:
    """One XDF with each stream's header as liblsl writes it (``info.as_xml()``, what LabRecorder stores)."""
    from app.formats.xdf_format import XdfStream

    streams = []
    for k, (info, sample) in enumerate(infos_and_samples, start=1):
        xml = info.as_xml()  # type: ignore[attr-defined]
        fmt = {1: "float32", 2: "double64"}[info.channel_format()]  # type: ignore[attr-defined]
        data = np.tile(np.asarray(sample, dtype=np.float64), (n, 1))
        rate = info.nominal_srate() or 60.0  # type: ignore[attr-defined]
        t = 500.0 + np.arange(n) / rate
        streams.append(XdfStream(k, info.name(), info.type(), fmt, info.nominal_srate(), info.source_id(),  # type: ignore[attr-defined]
                                 tuple(f"c{i}" for i in range(data.shape[1])), (), xml, t, data))
    return vx.write(path, *streams, vx.markers(500.0))


def _vendor_cases() -> list:
    vs = pytest.importorskip("tests.fixtures.vendor_streams")
    return [
        pytest.param(lambda: [(vs.tobii_pro_info(), vs.tobii_pro_sample(0.25, 0.25))], None, id="App-TobiiPro"),
        pytest.param(lambda: [(vs.tobii_tet_info(), vs.tobii_tet_sample(0.25, 0.25))], None, id="App-Tobii-TET"),
        pytest.param(lambda: [(vs.eyelink_info(), vs.eyelink_sample(480.0, 270.0, eyes="left"))], None,
                     id="App-EyeLink"),
        pytest.param(lambda: [(vs.pupil_capture_info(coordinate_system="screen"), vs.pupil_capture_sample(0.25, 0.75)),
                              (vs.pupil_pupillometry_info(), [0.9, 0.5, 0.5, 40, 41, 3.4, 3.5])], None,
                     id="App-PupilLabs-surface"),
        pytest.param(lambda: [(vs.pupil_capture_info(), vs.pupil_capture_sample(0.25, 0.75)),
                              (vs.pupil_pupillometry_info(), [0.9, 0.5, 0.5, 40, 41, 3.4, 3.5])],
                     "world (scene) camera", id="App-PupilLabs-world"),
        pytest.param(lambda: [(vs.companion_gaze_info(), [480.0, 270.0])], "scene-camera pixels",
                     id="lsl-relay-Neon"),
    ]


@pytest.mark.parametrize(("make", "refusal"), _vendor_cases())
def test_labrecorder_file_of_each_vendor_app_without_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             make, refusal: str | None) -> None:
    f = _labrecorder(tmp_path / "vendor.xdf", make())
    if refusal is not None:
        assert main(["detect", str(f), "--events-out", str(tmp_path / "ev.tsv")]) == 2
        assert refusal in _err(capsys)
        return
    m = map_recording(read_recording(f))
    assert not m.inferred
    assert float(np.nanmean(m.block.x)) == pytest.approx(480.0, abs=0.5)
    assert float(np.nanmean(m.block.y)) == pytest.approx(270.0, abs=0.5)


def test_a_tracker_that_came_back_is_read_as_one_stream(tmp_path: Path, path, capsys: pytest.CaptureFixture[str]) -> None:
    """After a tracker restart the session records a new stream of the same name (another source_id)."""
    from dataclasses import replace as dc_replace

    from app.formats.xdf_format import XdfStream

    t, x, y = path
    half = len(t) // 2

    def other_id(s: XdfStream, sid: str) -> XdfStream:
        return dc_replace(s, source_id=sid, header_xml=s.header_xml.replace(s.source_id, sid))

    first = vx.tobii_pro(t[:half], x[:half], y[:half], sid=1)
    second = other_id(vx.tobii_pro(t[half:] + 2.0, x[half:], y[half:], sid=2), "Tobiiat_again")
    f = vx.write(tmp_path / "restart.xdf", first, second, vx.markers(t[0]))
    rec = read_recording(f)
    assert len(rec.time_stamps) == len(t) and rec.time_stamps[half] - rec.time_stamps[half - 1] > 2.0
    assert any("2 parts" in n for n in rec.notes)
    np.testing.assert_allclose(map_recording(rec).block.x, x, atol=1e-3)
    assert len(read_recording(f, stream="Tobii").time_stamps) == len(t)
    # overlapping streams of one name are two trackers, not one that came back
    g = vx.write(tmp_path / "two.xdf", vx.tobii_pro(t, x, y, sid=1),
                 other_id(vx.tobii_pro(t, x, y, sid=2), "Tobiiat_other"))
    assert main(["detect", str(g), "--stream", "Tobii", "--events-out", str(tmp_path / "ev.tsv")]) == 2
    assert "do not continue each other; give a source_id instead" in _err(capsys)
    assert len(read_recording(g, stream="Tobiiat_other").time_stamps) == len(t)
