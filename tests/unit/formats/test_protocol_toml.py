"""Saving AOIs back into a protocol keeps the user's file: comments, order, untouched trials, byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.aoi_editing import AoiDocument, EditableAoi
from app.core.errors import ProtocolError
from app.core.paths import ASSETS_DIR, DEMO_PROTOCOL
from app.core.protocol import load_protocol
from app.formats.protocol_toml import save_aois


@pytest.fixture
def protocol_file(tmp_path: Path) -> Path:
    """The demo protocol beside a copy of the assets, with a user's comments added."""
    shutil.copytree(ASSETS_DIR / "images", tmp_path / "assets" / "images")
    shutil.copytree(ASSETS_DIR / "fonts", tmp_path / "assets" / "fonts")
    folder = tmp_path / "protocols"
    folder.mkdir()
    text = DEMO_PROTOCOL.read_text(encoding="utf-8")
    text = text.replace('[[trials]]\nid = "coffee"', '# the coffee trial: boxes drawn by RH\n[[trials]]\nid = "coffee"')
    text = text.replace('{ label = "woman", box', '# keep the woman first\n  { label = "woman", box')
    path = folder / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_only_the_edited_trial_changes(protocol_file: Path) -> None:
    original = protocol_file.read_text(encoding="utf-8")
    doc = AoiDocument.from_protocol(load_protocol(protocol_file))
    coffee = next(i for i, t in enumerate(doc.trials) if t.trial_id == "coffee")
    doc.set(coffee, 0, EditableAoi("mug", "box", ((170.5, 17), (400, 230))))
    doc.add(coffee, EditableAoi("handle", "polygon", ((400, 60), (450, 80), (420, 150))))
    assert save_aois(doc) == protocol_file and not doc.dirty
    saved = protocol_file.read_text(encoding="utf-8")
    assert "# the coffee trial: boxes drawn by RH" in saved and "# keep the woman first" in saved
    # everything before the coffee trial's aois and after it is the user's text, unchanged
    head = original[: original.index('caption = "A cup of coffee')]
    tail = original[original.index('[[trials]]\nid = "chelsea"'):]
    assert saved.startswith(head) and saved.endswith(tail)
    reread = {t.trial_id: t for t in load_protocol(protocol_file).all_trials}
    aois = [(a.label, a.polygon) for a in reread["coffee"].aois]
    assert aois[0] == ("mug", ((170.5, 17.0), (400.0, 17.0), (400.0, 230.0), (170.5, 230.0)))
    assert aois[-1] == ("handle", ((400.0, 60.0), (450.0, 80.0), (420.0, 150.0)))
    assert reread["astronaut"].aois == {t.trial_id: t for t in load_protocol(DEMO_PROTOCOL).all_trials}[
        "astronaut"].aois


def test_nothing_edited_writes_the_same_bytes(protocol_file: Path) -> None:
    before = protocol_file.read_bytes()
    save_aois(AoiDocument.from_protocol(load_protocol(protocol_file)))
    assert protocol_file.read_bytes() == before


def test_a_file_changed_on_disk_is_not_overwritten(protocol_file: Path) -> None:
    doc = AoiDocument.from_protocol(load_protocol(protocol_file))
    doc.remove(2, 0)
    changed = protocol_file.read_text(encoding="utf-8").replace('id = "astronaut"', 'id = "astronaut-2"')
    protocol_file.write_text(changed, encoding="utf-8")
    with pytest.raises(ProtocolError, match="changed on disk"):
        save_aois(doc)
    assert protocol_file.read_text(encoding="utf-8") == changed
    assert not list(protocol_file.parent.glob("*.tmp"))
