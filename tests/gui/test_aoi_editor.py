"""The AOI editor driven with real mouse and key events: draw, move, resize, polygon, label, delete, undo, save."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.core.paths import ASSETS_DIR, DEMO_PROTOCOL
from app.core.protocol import load_protocol
from app.formats.protocol_toml import save_aois
from app.gui.backend import Backend
from app.gui.main_window import MainWindow
from app.gui.pages.aoi_editor import AoiCanvas


@pytest.fixture
def protocol_file(tmp_path: Path) -> Path:
    shutil.copytree(ASSETS_DIR / "images", tmp_path / "assets" / "images")
    shutil.copytree(ASSETS_DIR / "fonts", tmp_path / "assets" / "fonts")
    (tmp_path / "protocols").mkdir()
    path = tmp_path / "protocols" / "study.toml"
    path.write_text("# our study\n" + DEMO_PROTOCOL.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot, protocol_file: Path, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    backend = Backend(lambda c, listener: None, lambda timeout: [], None, save_aois)  # type: ignore[arg-type,return-value]
    w = MainWindow(backend, [protocol_file], tmp_path / "out", None, frame_ms=10)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def _at(canvas: AoiCanvas, x: float, y: float) -> QPoint:
    return canvas.to_widget(x, y).toPoint()


def _drag(canvas: AoiCanvas, a: tuple[float, float], b: tuple[float, float]) -> None:
    start, end = _at(canvas, *a), _at(canvas, *b)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 6):
        QTest.mouseMove(canvas, start + (end - start) * k / 5)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_setup_page_opens_the_editor_on_the_chosen_protocol(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(window.setup_page.edit_aois, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.aoi_page
    page = window.aoi_page
    assert page.trial_label.text().startswith("1/8  practice practice-cat: 3 regions")
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert "practice-rocket" in page.trial_label.text()
    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.setup_page


def test_draw_move_resize_label_delete_undo_and_save(window: MainWindow, protocol_file: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert window.edit_aois()
    page, canvas = window.aoi_page, window.aoi_page.canvas
    page.show_trial(2)  # astronaut, 512 x 512, five boxes
    doc = page.document
    assert doc is not None
    aois = doc.trials[2].aois

    # a new box
    qtbot.mouseClick(page.box_tool, Qt.MouseButton.LeftButton)
    _drag(canvas, (380, 300), (480, 340))
    assert len(aois) == 6 and aois[5].kind == "box"
    (x0, y0), (x1, y1) = aois[5].points
    assert abs(x0 - 380) < 3 and abs(y0 - 300) < 3 and abs(x1 - 480) < 3 and abs(y1 - 340) < 3
    assert canvas.selected == 5 and page.label_edit.isEnabled()

    # its label
    page.label_edit.clear()
    QTest.keyClicks(page.label_edit, "glove")
    QTest.keyClick(page.label_edit, Qt.Key.Key_Return)
    assert aois[5].label == "glove"

    # move the woman's box by dragging inside it, then resize it by its bottom-right handle
    qtbot.mouseClick(page.select_tool, Qt.MouseButton.LeftButton)
    _drag(canvas, (200, 100), (220, 120))
    (x0, y0), (x1, y1) = aois[0].points
    assert abs(x0 - 170) < 3 and abs(y0 - 28) < 3 and abs(x1 - 325) < 3 and abs(y1 - 180) < 3
    _drag(canvas, (x1, y1), (340, 200))
    (x0b, y0b), (x1b, y1b) = aois[0].points
    assert (x0b, y0b) == (x0, y0) and abs(x1b - 340) < 3 and abs(y1b - 200) < 3

    # a polygon: three clicks and a double-click
    qtbot.mouseClick(page.polygon_tool, Qt.MouseButton.LeftButton)
    for x, y in ((20, 450), (90, 440), (60, 500)):
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(canvas, x, y))
    QTest.mouseDClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(canvas, 60, 500))
    assert len(aois) == 7 and aois[6].kind == "polygon" and len(aois[6].points) == 3

    # delete the flag (select it, press Delete), then undo that
    qtbot.mouseClick(page.select_tool, Qt.MouseButton.LeftButton)
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(canvas, 40, 300))
    assert aois[canvas.selected].label == "flag"
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert [a.label for a in aois].count("flag") == 0
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [a.label for a in doc.trials[2].aois].count("flag") == 1
    assert "unsaved changes" in page.trial_label.text()

    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert page.status.text().startswith("saved"), page.status.text()
    assert protocol_file.read_text(encoding="utf-8").startswith("# our study\n")
    saved = {t.trial_id: t for t in load_protocol(protocol_file).all_trials}["astronaut"].aois
    assert [a.label for a in saved] == ["woman", "suit", "helmet", "shuttle", "flag", "glove", "object"]
    assert len(saved[6].polygon) == 3


def test_undo_of_one_drag_is_one_step(window: MainWindow) -> None:
    assert window.edit_aois()
    page, canvas = window.aoi_page, window.aoi_page.canvas
    page.show_trial(2)
    doc = page.document
    assert doc is not None
    before = doc.trials[2].aois[0]
    _drag(canvas, (200, 100), (260, 130))
    assert doc.trials[2].aois[0] != before
    QTest.mouseClick(page.undo_button, Qt.MouseButton.LeftButton)
    assert doc.trials[2].aois[0] == before and not doc.can_undo
