"""The AOI document: every edit stays inside the image, undo restores exactly, listeners hear each change."""

from __future__ import annotations

import pytest

from app.core.aoi_editing import AoiDocument, EditableAoi
from app.core.errors import ProtocolError
from app.core.protocol import Protocol


@pytest.fixture
def doc(demo: Protocol) -> AoiDocument:
    return AoiDocument.from_protocol(demo)


@pytest.fixture
def demo(demo_protocol_path) -> Protocol:  # type: ignore[no-untyped-def]
    from app.core.protocol import load_protocol

    return load_protocol(demo_protocol_path)


def test_boxes_stay_boxes_and_polygons_stay_polygons(doc: AoiDocument) -> None:
    coffee = next(t for t in doc.trials if t.trial_id == "coffee")
    kinds = [(a.label, a.kind) for a in coffee.aois]
    assert kinds == [("cup", "box"), ("spoon", "box"), ("saucer", "polygon")]
    assert coffee.aois[0].points == ((174.0, 17.0), (405.0, 236.0))
    assert (coffee.table, coffee.index) == ("trials", 1)
    assert (doc.trials[0].table, doc.trials[0].index) == ("practice", 0)


@pytest.mark.parametrize(("label", "points"), [
    pytest.param("", ((0, 0), (5, 5)), id="empty-label"),
    pytest.param("a\nb", ((0, 0), (5, 5)), id="newline-label"),
    pytest.param("x" * 65, ((0, 0), (5, 5)), id="long-label"),
    pytest.param("ok", ((5, 5), (5, 9)), id="zero-width"),
])
def test_bad_regions_are_refused(label: str, points: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ProtocolError):
        EditableAoi(label, "box", points)


def test_move_resize_and_undo(doc: AoiDocument) -> None:
    heard: list[int] = []
    doc.listeners.append(heard.append)
    trial = 2  # astronaut, 512 x 512
    before = list(doc.trials[trial].aois)
    woman = doc.trials[trial].aois[0]
    doc.set(trial, 0, woman.moved(1000, -1000, doc.trials[trial].image_size))  # stopped at the edges
    moved = doc.trials[trial].aois[0]
    assert moved.points == ((357.0, 0.0), (512.0, 152.0))
    doc.set(trial, 0, moved.with_vertex(0, 300, 20, doc.trials[trial].image_size), merge=True)
    assert doc.trials[trial].aois[0].points == ((300.0, 20.0), (512.0, 152.0))
    # dragging a corner past its opposite one flips the box instead of breaking it
    flipped = doc.trials[trial].aois[0].with_vertex(0, 600, 400, doc.trials[trial].image_size)
    assert flipped.points == ((512.0, 152.0), (512.0, 400.0)) or flipped == doc.trials[trial].aois[0]
    doc.relabel(trial, 0, "  astronaut ")
    assert doc.trials[trial].aois[0].label == "astronaut"
    doc.remove(trial, 1)
    assert len(doc.trials[trial].aois) == len(before) - 1
    assert doc.dirty and heard == [trial] * 4
    assert doc.undo() == trial and doc.undo() == trial and doc.undo() == trial  # remove, relabel, one drag
    assert doc.trials[trial].aois == before
    assert not doc.dirty and doc.undo() is None


def test_hit_finds_the_topmost_region(doc: AoiDocument) -> None:
    chelsea = next(i for i, t in enumerate(doc.trials) if t.trial_id == "chelsea")
    assert doc.trials[chelsea].aois[doc.hit(chelsea, 150, 100)].label == "cat"  # drawn last, over the eye
    assert doc.hit(chelsea, 600, 400) is None
    saucer = next(i for i, t in enumerate(doc.trials) if t.trial_id == "coffee")
    assert doc.trials[saucer].aois[doc.hit(saucer, 200, 300)].label == "saucer"  # inside the polygon only
    assert doc.hit(saucer, 80, 80) is None


def test_new_regions_are_clipped_to_the_image(doc: AoiDocument) -> None:
    i = doc.add(0, EditableAoi("whiskers", "polygon", ((-50, 10), (900, 20), (100, 900))))
    w, h = doc.trials[0].image_size
    assert all(0 <= x <= w and 0 <= y <= h for x, y in doc.trials[0].aois[i].points)
