"""session.json as a typed record: files written by POV Lab 0.1.0 read back and are written again unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import BundleError
from app.core.geometry import ScreenGeometry
from app.core.run_metadata import CountersRecord, RunMetadata, SessionStatus, TrackerRecord

DATA = Path(__file__).parent / "data"
END_KEYS = ("gaps", "counters", "n_trials_done", "agreement", "n_fixations", "warnings", "recorder")


def _old(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["session-0.1.0-aborted.json", "session-0.1.0-recovered.json"])
def test_files_of_0_1_0_read_and_write_back_unchanged(name: str) -> None:
    """A run a session recorded (0.1.0), and a synthetic run that ``povlab recover`` rewrote (0.1.0)."""
    old = _old(name)
    meta = RunMetadata.from_json(old, name)
    expected = dict(old)
    if "kind" not in old["tracker"]:  # the synthetic run's tracker section is short; a session always writes these
        expected["tracker"] = {**old["tracker"], "mapping": None, "preset": None}
    assert meta.to_json() == expected
    assert RunMetadata.from_json(json.loads(json.dumps(meta.to_json()))) == meta


def test_the_fields_of_a_finished_run() -> None:
    meta = RunMetadata.from_json(_old("session-0.1.0-aborted.json"))
    assert meta.status is SessionStatus.ABORTED and meta.status.ended and meta.status.ok
    assert meta.screen == ScreenGeometry(1920, 1080, 53.1, 29.9, 60.0)
    assert meta.tracker is not None and meta.tracker.kind == "sim" and meta.tracker.rate == 1000.0
    assert meta.counters == CountersRecord(received=4271, lost=0, invalid=0, gaps=0)
    assert meta.recorder is not None and meta.recorder.samples["PovLab-Markers"] == 7
    assert meta.agreement is None and meta.n_trials_done == 0


def test_a_run_that_is_still_recording_has_no_end_keys() -> None:
    start = {k: v for k, v in _old("session-0.1.0-aborted.json").items() if k not in END_KEYS}
    start.update(status="recording", ended_utc=None, validation=None)
    meta = RunMetadata.from_json(start)
    assert meta.status is SessionStatus.RECORDING and not meta.status.ended
    assert meta.to_json() == start, "keys absent at the start stay absent; ended_utc/validation are null"
    ended = replace(meta, status=SessionStatus.COMPLETE, n_trials_done=3, agreement=None)
    assert ended.to_json()["agreement"] is None and ended.to_json()["status"] == "complete"


def test_a_file_without_status_is_recording() -> None:
    meta = RunMetadata.from_json({"participant": "P1", "session": "01", "task": "pov", "run": 2})
    assert meta.status is SessionStatus.RECORDING and meta.screen is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"run": "1"}, "run: expected an integer", id="run-string"),
        pytest.param({"run": True}, "run: expected an integer", id="run-bool"),
        pytest.param({"status": "finished"}, "'finished' is not one of recording, complete", id="status"),
        pytest.param({"surprise": 1, "zebra": 2}, "unknown keys 'surprise', 'zebra'", id="unknown-keys"),
        pytest.param({"tracker": {"name": "T", "vendor": "x"}}, "unknown key 'tracker.vendor'", id="nested-unknown"),
        pytest.param({"tracker": {"rate": "fast"}}, "tracker.rate: expected a number", id="nested-type"),
        pytest.param({"gaps": [[1.0, "x"]]}, "gaps[0][1]: expected a number", id="gaps"),
        pytest.param({"counters": {"received": 1}}, "key 'counters.lost' missing", id="nested-missing"),
        pytest.param({"screen": {"width_px": 0, "height_px": 1, "width_cm": 1, "height_cm": 1, "distance_cm": 1}},
                     "width_px must be positive", id="screen"),
        pytest.param({"warnings": "disk low"}, "warnings: expected a list", id="warnings"),
    ],
)
def test_bad_files_name_the_key(change: dict, message: str) -> None:
    data = {"participant": "P1", "session": "01", "task": "pov", "run": 1, **change}
    with pytest.raises(BundleError, match="x_session.json") as err:
        RunMetadata.from_json(data, "x_session.json")
    assert message in str(err.value)


@pytest.mark.parametrize("data", [[], "text", None], ids=["list", "string", "null"])
def test_not_an_object(data: object) -> None:
    with pytest.raises(BundleError, match="expected a JSON object"):
        RunMetadata.from_json(data)


def test_a_missing_key() -> None:
    with pytest.raises(BundleError, match="key 'participant' missing"):
        RunMetadata.from_json({"session": "01", "task": "pov", "run": 1})


def test_records_built_in_code_are_checked_too() -> None:
    with pytest.raises(BundleError, match="status: expected SessionStatus"):
        RunMetadata("P1", "01", "pov", 1, status="complete")  # type: ignore[arg-type]
    with pytest.raises(BundleError, match="rate: expected a number"):
        TrackerRecord(rate="1000")  # type: ignore[arg-type]
    with pytest.raises(BundleError, match="warnings"):
        RunMetadata("P1", "01", "pov", 1, warnings=[1])  # type: ignore[list-item]


def test_statuses_are_the_strings_on_disk() -> None:
    assert [s.value for s in SessionStatus] == ["recording", "complete", "aborted", "failed", "disk_full",
                                                "recovered"]
    assert SessionStatus.DISK_FULL == "disk_full" and not SessionStatus.FAILED.ok
