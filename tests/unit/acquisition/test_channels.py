from __future__ import annotations

import numpy as np
import pytest

from app.acquisition.channels import (
    ChannelMap,
    detect_preset,
    from_metadata,
    parse_mapping,
    preset,
    resolve_channel_map,
)
from app.acquisition.outlets import channel_metadata
from app.core.errors import TrackerError
from app.core.streams import SIM_GAZE

SCREEN = (1920, 1080)
NAN = np.nan

TOBII_META = [  # as labstreaminglayer/App-TobiiPro describes its channels
    {"label": "left_x", "eye": "left", "type": "ScreenX", "unit": "screencoords"},
    {"label": "left_y", "eye": "left", "type": "ScreenY", "unit": "screencoords"},
    {"label": "left_pupil", "eye": "left", "type": "pupilsize"},
    {"label": "right_x", "eye": "right", "type": "ScreenX", "unit": "screencoords"},
    {"label": "right_y", "eye": "right", "type": "ScreenY", "unit": "screencoords"},
    {"label": "right_pupil", "eye": "right", "type": "pupilsize"},
]
EYELINK_LABELS = ["leftEyeX", "leftEyeY", "rightEyeX", "rightEyeY", "leftPupilArea", "rightPupilArea",
                  "pixelsPerDegreeX", "pixelsPerDegreeY", "eyelink_timestamp", "LSL_timestamp"]
PUPIL_LABELS = ["confidence", "norm_pos_x", "norm_pos_y", "gaze_point_3d_x", "diameter0_3d", "diameter1_3d"]


def test_metadata_of_our_own_gaze_outlet() -> None:
    meta = channel_metadata(SIM_GAZE)
    assert [m["type"] for m in meta] == ["ScreenX", "ScreenY", "ScreenX", "ScreenY", "Diameter", "Diameter"]
    cm = from_metadata(meta, 6, SCREEN)
    assert cm is not None and cm.source == "metadata"
    assert (cm.left_x, cm.left_y, cm.right_x, cm.right_y, cm.left_pupil, cm.right_pupil) == (0, 1, 2, 3, 4, 5)
    g = cm.apply(np.array([[100.0, 200.0, 110.0, 210.0, 3.0, 4.0]]))
    assert (g.x[0], g.y[0], g.pupil[0]) == (105.0, 205.0, 3.5)


def test_tobii_metadata_in_normalised_units() -> None:
    cm = resolve_channel_map("Tobii", 6, TOBII_META, SCREEN)
    assert cm.source == "vendor:tobii-pro" and cm.unit == "normalized"
    g = cm.apply(np.array([[0.5, 0.5, 3.0, 0.6, 0.5, 3.2], [NAN, NAN, NAN, 0.25, 0.75, 3.1]]))
    np.testing.assert_allclose([g.left_x[0], g.right_x[0], g.x[0], g.y[0]], [960, 1152, 1056, 540])
    # one eye lost: the average is the other eye
    np.testing.assert_allclose([g.x[1], g.y[1], g.pupil[1]], [480, 810, 3.1])


@pytest.mark.parametrize(("name", "labels", "n", "want"), [
    pytest.param("Tobii", [], 6, "tobii", id="tobii-by-name-undescribed"),
    pytest.param("x", ["left_x", "left_y", "left_pupil", "right_x", "right_y", "right_pupil"], 6, "tobii",
                 id="tobii-by-labels"),
    pytest.param("EyeLink", EYELINK_LABELS, 10, "eyelink", id="eyelink-by-labels"),
    pytest.param("EyeLink", [], 10, "eyelink", id="eyelink-by-name-undescribed"),
    pytest.param("pupil_capture", PUPIL_LABELS, 6, "pupil", id="pupil-by-labels"),
    pytest.param("Mystery", ["a", "b"], 2, None, id="unknown"),
])
def test_detect_preset(name: str, labels: list[str], n: int, want: str | None) -> None:
    assert detect_preset(name, labels, n) == want


def test_eyelink_preset_marks_missing_data() -> None:
    meta = [{"label": lab, "type": "eyetracking"} for lab in EYELINK_LABELS]
    cm = resolve_channel_map("EyeLink", 10, meta, SCREEN)
    assert cm.source == "vendor:eyelink"
    rows = np.array([[500, 400, 510, 410, 900, 950, 35, 35, 1, 2],
                     [0, 0, 700, 300, 0, 800, 35, 35, 1, 2],  # left eye not tracked
                     [-32768, -32768, -32768, -32768, 0, 0, 35, 35, 1, 2]], dtype=float)
    g = cm.apply(rows)
    np.testing.assert_allclose(g.x[:2], [505, 700])
    assert np.isnan(g.left_x[1]) and np.isnan(g.x[2]) and np.isnan(g.pupil[2])
    assert g.pupil[1] == 800


def test_pupil_preset_flips_y_and_drops_low_confidence() -> None:
    cm = preset("pupil", PUPIL_LABELS, 6, SCREEN)
    g = cm.apply(np.array([[0.9, 0.25, 0.75, 0, 3.0, 3.2], [0.3, 0.5, 0.5, 0, 3.0, 3.2]]))
    np.testing.assert_allclose([g.x[0], g.y[0]], [480, 270])  # origin bottom-left -> top-left
    assert np.isnan(g.x[1]) and np.isnan(g.y[1])


def test_explicit_mapping() -> None:
    cm = resolve_channel_map("Other", 5, [], SCREEN, mapping="right_x=3, right_y=4, unit=normalized")
    assert cm.eyes == ("right",) and cm.source == "explicit"
    g = cm.apply(np.array([[0, 0, 0, 0.5, 0.5]]))
    assert (g.x[0], g.y[0]) == (960.0, 540.0)
    assert np.isnan(g.left_x[0])


@pytest.mark.parametrize(("text", "match"), [
    pytest.param("left_x=0", "needs left_x and left_y", id="x-without-y"),
    pytest.param("left_x=0,left_y=1,right_x=2", "both its x and its y", id="right-x-without-y"),
    pytest.param("left_x=0,left_y=9", "left_y=9 is not a channel index", id="index-out-of-range"),
    pytest.param("left_x=a,left_y=1", "must be a channel index", id="not-an-int"),
    pytest.param("leftx=0", "unknown key 'leftx'", id="unknown-key"),
    pytest.param("left_x=0,left_y=1,unit=degrees", "unit 'degrees' is not supported", id="bad-unit"),
    pytest.param("left_x", "key=value", id="no-equals"),
])
def test_bad_explicit_mapping(text: str, match: str) -> None:
    with pytest.raises(TrackerError, match=match):
        parse_mapping(text, 4, SCREEN)


def test_stream_with_wrong_channels_names_stream_and_fix() -> None:
    meta = [{"label": "eeg1", "type": "EEG"}, {"label": "eeg2", "type": "EEG"}]
    with pytest.raises(TrackerError) as err:
        resolve_channel_map("BrainAmp", 2, meta, SCREEN)
    msg = str(err.value)
    assert "'BrainAmp'" in msg and "eeg1, eeg2" in msg and "--channels left_x=0" in msg
    assert "\n" not in msg


def test_preset_that_does_not_fit_the_stream() -> None:
    with pytest.raises(TrackerError, match="preset tobii"):
        preset("tobii", ["a", "b", "c"], 3, SCREEN)
    with pytest.raises(TrackerError, match="unknown channel preset"):
        preset("smi", [], 4, SCREEN)


def test_chunk_of_wrong_width_is_refused() -> None:
    cm = ChannelMap(n_channels=2, left_x=0, left_y=1)
    with pytest.raises(TrackerError, match="2 channels"):
        cm.apply(np.zeros((3, 4)))
