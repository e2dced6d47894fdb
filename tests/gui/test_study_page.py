"""The study page: a study folder's runs in a table, a crashed run recovered from its row, review by double-click."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.commands.gui import recover_report
from app.gui.backend import Backend
from app.gui.main_window import MainWindow
from app.runfolder.review import load_review
from app.runfolder.synthetic import make_session
from app.study.status import study_status


@pytest.fixture
def study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    make_session(root, "01", "01", duration_s=42.0, seed=1)
    make_session(root, "02", "01", duration_s=42.0, seed=2)
    crashed = make_session(root, "03", "01", duration_s=22.0, seed=3, status="recording")
    old = time.time() - 3600
    for p in crashed.iterdir():
        os.utime(p, (old, old))
    return root


@pytest.fixture
def window(qtbot, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    backend = Backend(lambda c, listener: None, lambda timeout: [], None,  # type: ignore[arg-type,return-value]
                      load_review=load_review, study_status=study_status, recover_session=recover_report)
    w = MainWindow(backend, [], tmp_path / "study", None, frame_ms=10)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _cells(w: MainWindow, col: int) -> list[str]:
    t = w.study_page.table
    return [t.item(r, col).text() for r in range(t.rowCount())]


def test_the_setup_page_opens_its_output_folder_as_a_study(window: MainWindow, study: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(window.setup_page.study_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.study_page
    page = window.study_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=10_000)
    assert _cells(window, 0) == ["sub-01", "sub-02", "sub-03"]
    assert _cells(window, 3) == ["complete", "complete", "crashed"]
    expected = study_status(study)
    assert _cells(window, 4) == [f"{r.trials_done}/{r.trials_total}" for r in expected.runs]
    assert "3 participants, 3 sessions" in page.summary.text() and "1 to recover" in page.summary.text()
    assert set(page.recover_buttons) == {2}  # only the crashed run has the action


def test_recover_from_the_row_then_the_table_reads_again(window: MainWindow, study: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.open_study(study)
    page = window.study_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=10_000)
    button = page.table.cellWidget(2, page.table.columnCount() - 1)
    assert isinstance(button, QPushButton) and button.text() == "Recover"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 3 and _cells(window, 3)[2] == "recovered", timeout=20_000)
    assert not page.recover_buttons and "0 to recover" in page.summary.text()


def test_double_click_reviews_a_run_and_errors_are_shown(window: MainWindow, study: Path, tmp_path: Path,
                                                         qtbot) -> None:  # type: ignore[no-untyped-def]
    window.open_study(study)
    page = window.study_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=10_000)
    page.table.cellDoubleClicked.emit(1, 0)
    assert window.stack.currentWidget() is window.review_page
    assert window.review_page.playback is not None
    assert window.review_page.playback.review.xdf.parent == study / "sub-02" / "ses-01"
    window.open_study(tmp_path / "no-such-study")
    qtbot.waitUntil(lambda: "study folder not found" in page.message.text(), timeout=10_000)
    assert page.refresh_button.isEnabled()
