"""Each vendor app's StreamInfo (re-created from its source in tests/fixtures/vendor_streams.py) over loopback LSL:
recognised from its metadata alone, mapped onto the screen (gaze parked at (0.25, 0.25) of 1920x1080 must come
out at (480, 270) px), validity handled as the vendor defines it, or refused with one line where its coordinates
are not the screen."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyxdf

from app.acquisition.discovery import choose_stream, find_streams
from app.acquisition.inlet import GazeAcquisition
from app.cli import main
from app.core.errors import TrackerError
from tests.fixtures import vendor_streams as vs
from tests.integration.test_cli_acquisition import one_error_line

pylsl = pytest.importorskip("pylsl")
SCREEN = (1920, 1080)


def read(info: Any, sample: Callable[[int], Sequence[float]], n: int = 60, **kwargs: Any) -> GazeAcquisition:
    """Publish ``sample(k)`` from ``info`` and read it with the session's acquisition until ``n`` arrived."""
    with vs.Publisher(info, sample):
        acq = GazeAcquisition.connect(source_id=info.source_id(), timeout=5.0, screen_px=SCREEN, **kwargs)
        acq.start()
        deadline = time.monotonic() + 20.0
        while acq.counters.received < n and time.monotonic() < deadline:
            time.sleep(0.05)
        acq.stop()
    assert acq.counters.received >= n, "the vendor stream was not read"
    return acq


def mean_valid(acq: GazeAcquisition) -> tuple[float, float]:
    block = acq.buffer.snapshot()
    assert block.valid.any()
    return float(block.x[block.valid].mean()), float(block.y[block.valid].mean())


def test_tobii_pro_app() -> None:
    acq = read(vs.tobii_pro_info(), lambda k: vs.tobii_pro_sample(0.25, 0.25, valid=k % 4 != 0))
    cm = acq.channel_map
    assert cm.source == "vendor:tobii-pro" and "App-TobiiPro" in cm.describe() and cm.pupil_unit == "mm"
    np.testing.assert_allclose(mean_valid(acq), (480, 270), atol=0.01)
    assert acq.counters.invalid > 0  # NaN positions (invalid gaze points) are lost samples


def test_old_tobii_app_validity_codes_are_not_confidence() -> None:
    # every third sample: left eye "certainly not found" (4) with garbage positions, right eye "50 %" (2)
    def sample(k: int) -> list[float]:
        if k % 3 == 0:
            return vs.tobii_tet_sample(0.9, 0.9, validity_left=4, validity_right=2)
        return vs.tobii_tet_sample(0.25, 0.25, validity_left=0, validity_right=1)

    acq = read(vs.tobii_tet_info(), sample, n=45)
    cm = acq.channel_map
    assert cm.source == "vendor:tobii-tet" and cm.unit == "normalized" and cm.max_validity == 1.0
    assert (cm.left_validity, cm.right_validity, cm.confidence) == (6, 13, None)
    np.testing.assert_allclose(mean_valid(acq), (480, 270), atol=0.01)
    block = acq.buffer.snapshot()
    assert np.isnan(block.x[~block.valid]).all() and 0.2 < (~block.valid).mean() < 0.5


@pytest.mark.parametrize("eyes", ["both", "left", "right"])
def test_eyelink_app_binocular_and_monocular(eyes: str) -> None:
    acq = read(vs.eyelink_info(), lambda k: vs.eyelink_sample(480.0, 270.0, eyes))
    assert acq.channel_map.source == "vendor:eyelink" and acq.channel_map.unit == "pixels"
    assert mean_valid(acq) == (480.0, 270.0)  # the other eye's zeros are "no data", not (0, 0)
    assert acq.counters.invalid == 0


def test_pupil_capture_world_camera_is_refused() -> None:
    info = vs.pupil_capture_info()
    outlet = pylsl.StreamOutlet(info)
    with pytest.raises(TrackerError) as err:
        GazeAcquisition.connect(source_id=info.source_id(), timeout=5.0, screen_px=SCREEN)
    msg = str(err.value)
    assert "world (scene) camera" in msg and "surface" in msg and "--channels" in msg and "\n" not in msg
    del outlet


def test_pupil_capture_on_a_surface_flips_y_uses_3d_mm_and_cuts_confidence() -> None:
    # norm_pos (0.25, 0.75) with the origin bottom-left is (0.25, 0.25) from the top; every 4th datum has low
    # confidence and is elsewhere
    def sample(k: int) -> list[float]:
        if k % 4 == 0:
            return vs.pupil_capture_sample(0.9, 0.1, confidence=0.3)
        return vs.pupil_capture_sample(0.25, 0.75, confidence=0.95, d3=3.5)

    acq = read(vs.pupil_capture_info(coordinate_system="screen_surface"), sample)
    cm = acq.channel_map
    assert cm.source == "vendor:pupil-capture-surface" and cm.pupil_unit == "mm"
    np.testing.assert_allclose(mean_valid(acq), (480, 270), atol=0.01)
    block = acq.buffer.snapshot()
    # 3d diameters in mm (diameter1_3d left = 3.5, diameter0_3d right = 3.7), not the 2d pixel diameters
    np.testing.assert_allclose(np.nanmean(block.pupil[block.valid]), 3.6, atol=1e-6)
    assert 0.15 < (~block.valid).mean() < 0.35


def test_pupil_capture_world_stream_with_an_explicit_preset() -> None:
    acq = read(vs.pupil_capture_info(), lambda k: vs.pupil_capture_sample(0.25, 0.75), preset="pupil")
    assert acq.channel_map.source == "preset:pupil"
    np.testing.assert_allclose(mean_valid(acq), (480, 270), atol=0.01)


@pytest.mark.parametrize(("make", "words"), [
    pytest.param(vs.pupil_pupillometry_info, "eye cameras", id="pupillometry-only"),
    pytest.param(vs.pupil_fixations_info, "fixation stream", id="fixations"),
    pytest.param(vs.companion_gaze_info, "scene-camera pixels", id="neon-companion"),
])
def test_streams_whose_coordinates_are_not_the_screen_are_refused(
        make: Callable[[], Any], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    info = make()
    outlet = pylsl.StreamOutlet(info)
    assert main(["streams", "--check", "--source-id", info.source_id(), "--timeout", "3"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"povlab: error: stream {info.name()!r}") and words in line
    del outlet


def test_streams_check_says_which_layout(capsys: pytest.CaptureFixture[str]) -> None:
    info = vs.tobii_tet_info()
    with vs.Publisher(info, lambda k: vs.tobii_tet_sample(0.25, 0.25)):
        assert main(["streams", "--check", "--source-id", info.source_id(), "--seconds", "2"]) == 0
        assert main(["streams", "--source-id", info.source_id(), "--timeout", "1"]) == 0
    out = capsys.readouterr().out
    assert "layout: old Tobii LSL app, TET API (labstreaminglayer/App-Tobii) [tobii-tet]: both eyes, normalised" in out
    assert "mean gaze (480, 270) px" in out
    assert out.count("validity code <= 1") == 2  # --check and the listing both say it


def test_several_pupil_streams_choose_the_primary_gaze_stream() -> None:
    outlets = [pylsl.StreamOutlet(i) for i in (vs.pupil_capture_info(), vs.pupil_pupillometry_info())]
    try:
        found = [find_streams(source_id=o.get_info().source_id(), timeout=3.0)[0] for o in outlets]
    finally:
        del outlets
    assert choose_stream(list(reversed(found))).name == "pupil_capture"


def test_several_gaze_streams_of_different_trackers_are_refused() -> None:
    outlets = [pylsl.StreamOutlet(i) for i in (vs.tobii_pro_info(), vs.eyelink_info())]
    try:
        found = [find_streams(source_id=o.get_info().source_id(), timeout=3.0)[0] for o in outlets]
    finally:
        del outlets
    with pytest.raises(TrackerError) as err:
        choose_stream(found)
    msg = str(err.value)
    assert "2 gaze streams answer" in msg and "EyeLink (source_id eyelink-" in msg and "Tobii (source_id" in msg
    assert "--tracker lsl:NAME" in msg


def test_session_json_records_the_resolved_channel_map(short_protocol: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    info = vs.tobii_tet_info()
    with vs.Publisher(info, lambda k: vs.tobii_tet_sample(0.25, 0.25)):
        code = main(["run", "--protocol", str(short_protocol), "--participant", "P03", "--out", str(tmp_path),
                     "--tracker", f"lsl-id:{info.source_id()}", "--headless", "--duration", "1.5", "--no-model"])
    assert code == 0
    err = capsys.readouterr().err
    assert "tracker Tobii (Tobii_10.0." in err and "[tobii-tet]: both eyes" in err
    meta = json.loads(next(tmp_path.glob("sub-P03/ses-01/*_session.json")).read_text())
    cmap = meta["tracker"]["channel_map"]
    assert cmap["source"] == "vendor:tobii-tet" and cmap["unit"] == "normalized" and cmap["max_validity"] == 1.0
    assert cmap["channels"] == {"left_x": 0, "left_y": 1, "right_x": 7, "right_y": 8, "left_pupil": 4,
                                "right_pupil": 11, "left_validity": 6, "right_validity": 13}
    assert meta["tracker"]["preset"] is None and meta["tracker"]["mapping"] is None
    # the app publishes rate 0: fixations are detected at the rate its time stamps show (as recorded in the XDF)
    rate_line = next(ln for ln in err.splitlines() if "publishes no nominal rate" in ln)
    said = float(rate_line.split("at the ")[1].split(" Hz")[0])
    xdf = next(tmp_path.glob("sub-P03/ses-01/*.xdf"))
    ts = next(s for s in pyxdf.load_xdf(str(xdf))[0] if s["info"]["name"][0] == "Tobii")["time_stamps"]
    assert said == pytest.approx(1.0 / np.median(np.diff(ts)), rel=0.15)
