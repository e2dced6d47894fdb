"""Tracker specs as the operator types them: sim, lsl:NAME, lsl-id:SOURCE_ID, replay:FILE."""

from __future__ import annotations

import pytest

from app.acquisition.tracker_spec import LslTrackerConnector, TrackerSpec, parse_tracker_spec
from app.core.errors import TrackerError


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        pytest.param("sim", TrackerSpec("sim"), id="sim"),
        pytest.param("lsl", TrackerSpec("lsl"), id="the-one-gaze-stream"),
        pytest.param("lsl:Tobii Pro Spectrum", TrackerSpec("lsl", "Tobii Pro Spectrum"), id="name-with-spaces"),
        pytest.param("lsl-id:abc:123", TrackerSpec("lsl-id", "abc:123"), id="id-with-colon"),
        pytest.param("replay:/data/run-001.xdf", TrackerSpec("replay", "/data/run-001.xdf"), id="replay"),
    ],
)
def test_parse(text: str, spec: TrackerSpec) -> None:
    assert parse_tracker_spec(text) == spec
    assert str(spec) == text


@pytest.mark.parametrize("text", ["usb", "", "sim:x", "lsl-id:", "replay:", "LSL:x", "tobii:x"])
def test_bad_specs_say_what_is_expected(text: str) -> None:
    with pytest.raises(TrackerError, match="expected sim, lsl .the one gaze stream., lsl:NAME, lsl-id:SOURCE_ID or "
                                           "replay:FILE"):
        parse_tracker_spec(text)


def test_spec_and_connector_check_themselves() -> None:
    assert parse_tracker_spec("lsl:") == TrackerSpec("lsl")
    with pytest.raises(TrackerError):
        TrackerSpec("lsl-id")
    with pytest.raises(TrackerError):
        TrackerSpec("usb", "x")  # type: ignore[arg-type]
    with pytest.raises(TrackerError, match="timeout"):
        LslTrackerConnector(TrackerSpec("sim"), timeout_s=0)


@pytest.mark.parametrize(("text", "mapped"), [("replay:/data/run.xdf", True), ("sim", False), ("lsl:Tobii", False),
                                              ("lsl-id:abc", False)])
def test_only_a_replay_comes_with_its_channels_mapped(text: str, mapped: bool) -> None:
    from app.acquisition.tracker_spec import LslTracker

    tracker = LslTracker(parse_tracker_spec(text), stream=None)  # type: ignore[arg-type]
    assert tracker.channels_mapped is mapped and tracker.spec == text
    tracker.wait_until_ready(0.1)  # nothing started by this connection: returns at once
    tracker.close()
