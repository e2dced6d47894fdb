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


def _fake_figures(study: Path, folder: Path) -> dict:
    return {"study": str(study), "folder": str(folder), "trials": 36, "folds": 3, "participants": ["01", "02"],
            "model": {"accuracy_mean": 0.61, "accuracy_std": 0.05},
            "participant_image_prior": {"accuracy_mean": 0.55, "accuracy_std": 0.04},
            "always_yes": {"accuracy_mean": 0.4, "accuracy_std": 0.0}, "created_utc": "2026-12-01T10:00:00Z"}


def test_training_from_the_window_with_progress_cancel_and_model_choice(qtbot, study: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json
    import threading

    from app.core.errors import ModelError
    from app.study.trained_models import study_models

    release = threading.Event()
    calls: list[Path] = []

    def train(folder: Path, progress, cancel) -> dict:  # type: ignore[no-untyped-def]
        calls.append(folder)
        progress(0.25, "cross-validation: epoch 3 of 12")
        while not release.wait(0.01):
            if cancel.is_set():
                raise ModelError("training cancelled; no model was written")
        out = folder / "models" / "model-20261201-100000"
        out.mkdir(parents=True)
        (out / "model.onnx").write_bytes(b"onnx")
        figures = _fake_figures(folder, out)
        (out / "figures.json").write_text(json.dumps(figures))
        return figures

    backend = Backend(lambda c, listener: None, lambda timeout: [], None,  # type: ignore[arg-type,return-value]
                      study_status=study_status, train_study=train, study_models=study_models)
    w = MainWindow(backend, [], study, None, frame_ms=10)
    qtbot.addWidget(w)
    w.show()
    w.open_study(study)
    page = w.study_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=10_000)
    assert page.models.rowCount() == 0 and not page.use_button.isEnabled()

    # a run that is cancelled leaves the page ready to train again, with the reason shown
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.train_progress.value() == 250, timeout=10_000)
    assert "epoch 3 of 12" in page.train_status.text() and not page.train_button.isEnabled()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in page.train_status.text(), timeout=10_000)
    assert page.train_button.isEnabled() and not page.cancel_button.isEnabled()

    # a run that finishes shows its cross-validated figures and lists the model
    release.set()
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.models.rowCount() == 1, timeout=10_000)
    assert calls == [study, study]
    assert "model 0.610 ± 0.050 vs the participant-and-image prior 0.550" in page.train_status.text()
    assert [page.models.item(0, c).text() for c in (3, 4, 6)] == ["0.610 ± 0.050", "0.550", "+0.060"]
    qtbot.mouseClick(page.use_button, Qt.MouseButton.LeftButton)
    chosen = study / "models" / "model-20261201-100000" / "model.onnx"
    assert w.setup_page.model.text() == str(chosen) and not w.setup_page.no_model.isChecked()


@pytest.mark.slow
def test_real_training_on_a_study_writes_a_model_the_predictor_loads(study: Path) -> None:
    from app.commands.study import train_study
    from app.inference.onnx_model import load_fusion_model
    from app.study.trained_models import study_models

    seen: list[float] = []
    figures = train_study(study, lambda f, m: seen.append(f), None, folds=2, epochs=2, ensemble=1)
    assert seen == sorted(seen) and seen[-1] == 1.0
    (m,) = study_models(study)
    assert m.onnx == Path(figures["folder"]) / "model.onnx" and m.trials == figures["trials"] > 0
    assert m.accuracy == figures["model"]["accuracy_mean"] and m.prior_accuracy == \
        figures["participant_image_prior"]["accuracy_mean"]
    loaded = load_fusion_model(m.onnx, prefer_cuda=False)
    assert set(loaded.participants) >= {"01", "02", "03"}
