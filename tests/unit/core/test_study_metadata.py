"""A protocol's [study] table: what the BIDS export says about who ran the study and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ProtocolError
from app.core.paths import DEMO_PROTOCOL
from app.core.protocol import load_protocol
from app.core.study_metadata import StudyMetadata, load_study, study_from_table
from app.formats.gaze_channels import pupil_measure


def test_demo_protocol_has_a_study() -> None:
    study = load_protocol(DEMO_PROTOCOL).study
    assert len(study.authors) == 2 and study.institution and study.cogatlas_id.startswith("https://")
    again, instructions = load_study(DEMO_PROTOCOL)
    assert again == study and instructions.strip().startswith("You will see a sentence")


def test_no_study_table_is_empty() -> None:
    assert study_from_table(None, Path("p.toml")) == StudyMetadata()
    assert study_from_table({"authors": "Only One"}, Path("p.toml")).authors == ("Only One",)


@pytest.mark.parametrize("table, match", [
    pytest.param([1], "expected a table", id="not-a-table"),
    pytest.param({"autors": ["A"]}, "unknown key.*autors", id="typo"),
    pytest.param({"authors": 3}, "list of names", id="authors-number"),
    pytest.param({"authors": ["A", ""]}, "empty one", id="empty-author"),
    pytest.param({"authors": ["A", 5]}, "one line of text", id="author-number"),
    pytest.param({"institution": "a\nb"}, "one line", id="newline"),
    pytest.param({"cogatlas_id": "semantic task"}, "a URI", id="not-a-uri"),
    pytest.param({"license": "x" * 3000}, "at most 2000", id="too-long"),
])
def test_bad_study_tables(table: object, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        study_from_table(table, Path("p.toml"))


def test_bad_study_in_a_protocol_names_the_file(tmp_path: Path) -> None:
    text = DEMO_PROTOCOL.read_text().replace('authors = ["POV Lab demo author A", "POV Lab demo author B"]',
                                             "authors = 7").replace('"../assets/', f'"{DEMO_PROTOCOL.parent}/../assets/')
    p = tmp_path / "p.toml"
    p.write_text(text)
    with pytest.raises(ProtocolError, match=r"p\.toml: study\.authors"):
        load_protocol(p)
    with pytest.raises(ProtocolError, match="cannot read"):
        load_study(tmp_path / "none.toml")


@pytest.mark.parametrize("channel, label, expected", [
    ({"type": "Diameter", "unit": ""}, "left_pupil", "diameter"),  # XDF Gaze Meta-Data
    ({"unit": "mm"}, "pupil", "diameter"),
    ({"unit": "mm^2"}, "pupil", "area"),
    ({}, "pa_left", "area"),  # EyeLink pupil area
    ({"type": "PupilArea"}, "p", "area"),
    ({}, "diameter0_3d", "diameter"),  # Pupil Capture
    ({"unit": "arbitrary"}, "pupil", ""),
])
def test_pupil_measure(channel: dict[str, str], label: str, expected: str) -> None:
    assert pupil_measure(channel, label) == expected
