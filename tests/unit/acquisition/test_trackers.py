"""The tracker picker's channel and rate check (app.acquisition.trackers)."""

from __future__ import annotations

import pytest

from app.acquisition.trackers import check_stream, simulated

GAZE_META = tuple({"label": lab, "eye": eye, "type": typ, "unit": "pixels"} for lab, eye, typ in (
    ("lx", "left", "ScreenX"), ("ly", "left", "ScreenY"), ("rx", "right", "ScreenX"), ("ry", "right", "ScreenY")))


@pytest.mark.parametrize(("name", "rate", "n", "channels", "ok", "note"), [
    pytest.param("Gaze", 1000.0, 4, GAZE_META, True, "XDF Gaze Meta-Data: both eyes", id="xdf-gaze-metadata"),
    pytest.param("Tobii", 600.0, 6, (), True, "tobii", id="tobii-by-name"),
    pytest.param("Gaze", 0.0, 4, GAZE_META, False, "irregular rate", id="irregular"),
    pytest.param("Gaze", 10.0, 4, GAZE_META, False, "below 30 Hz", id="too-slow"),
    pytest.param("EEG", 500.0, 3, (), False, "no ScreenX/ScreenY", id="no-gaze-channels"),
])
def test_check_stream(name, rate, n, channels, ok, note) -> None:  # type: ignore[no-untyped-def]
    got_ok, got_note = check_stream(name, rate, n, channels)
    assert got_ok is ok and note in got_note


def test_simulator_is_offered() -> None:
    s = simulated()
    assert s.tracker == "sim" and s.ok
