from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ProtocolError
from app.core.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[3]
IMG = ROOT / "assets" / "images" / "coffee.jpg"

BASE = f"""
schema_version = 1
[screen]
width_px = 1920
height_px = 1080
width_cm = 53.0
height_cm = 30.0
distance_cm = 60.0
[[trials]]
id = "t1"
image = "{IMG}"
caption = "A cup of coffee"
aois = [{{ label = "cup", box = [10, 10, 100, 100] }}]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(text)
    return p


def test_demo_protocol_loads(demo_protocol_path: Path) -> None:
    p = load_protocol(demo_protocol_path)
    assert p.schema_version == 1
    assert len(p.trials) >= 6 and len(p.practice) >= 1
    assert {t.expected for t in p.trials} == {"yes", "no", "unclear"}
    assert p.screen.width_px == 1920 and p.validation_targets == 9
    assert all(t.image.is_file() for t in p.all_trials)


def test_minimal_protocol_gets_defaults(tmp_path: Path) -> None:
    p = load_protocol(write(tmp_path, BASE))
    assert p.trials[0].image_size == (600, 400)
    assert p.trials[0].aois[0].polygon[2] == (100.0, 100.0)
    assert p.responses.answer_for_key("y") == "yes"
    assert p.responses.answer_for_key("q") is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(lambda t: t.replace("schema_version = 1", "schema_version = 7"), "schema_version: expected 1",
                     id="schema-version"),
        pytest.param(lambda t: t.replace("schema_version = 1", ""), "schema_version", id="no-schema"),
        pytest.param(lambda t: t.replace("width_cm = 53.0", 'width_cm = "wide"'), "screen.width_cm: expected a number",
                     id="width-not-number"),
        pytest.param(lambda t: t.replace("distance_cm = 60.0", "distance_cm = -1"), "screen.distance_cm",
                     id="negative-distance"),
        pytest.param(lambda t: t.replace("coffee.jpg", "nope.jpg"), "trials[0].image: file not found", id="no-image"),
        pytest.param(lambda t: t.replace("[10, 10, 100, 100]", "[10, 10, 100]"), "trials[0].aois[0].box: expected 4",
                     id="short-box"),
        pytest.param(lambda t: t.replace("[10, 10, 100, 100]", "[10, 10, 900, 100]"), "inside the image",
                     id="box-outside"),
        pytest.param(lambda t: t.replace('caption = "A cup of coffee"', ""), "trials[0].caption: expected a string",
                     id="no-caption"),
        pytest.param(lambda t: t + "\n[responses]\nyes = 'n'\n", "each key bound to one action", id="dup-keys"),
        pytest.param(lambda t: t + "\n[validation]\ntargets = 7\n", "validation.targets: expected 5 or 9",
                     id="targets"),
        pytest.param(lambda t: t.replace('id = "t1"', 'id = "t1"\nexpected = "maybe"'), "trials[0].expected",
                     id="bad-expected"),
        pytest.param(lambda t: t + "\n[[[", "not valid TOML", id="toml-syntax"),
    ],
)
def test_malformed_protocol_names_file_and_key(tmp_path: Path, edit, message: str) -> None:
    path = write(tmp_path, edit(BASE))
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_protocol_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="not found"):
        load_protocol(tmp_path / "absent.toml")
