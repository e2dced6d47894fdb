"""The study page: every participant and session of a study folder, with status, data quality and model agreement.

One row per run (what ``povlab study status DIR`` prints): participant, session, run, status, trials done,
validation, samples lost, gaps, model agreement. A run that crashed (or stopped on a full disk) has a
"Recover" button in its row; recovery runs on a worker thread and the table is read again afterwards.
A double-click on a row opens that run on the review page.

The page reads nothing itself: it asks (signals) and the window answers with ``show_status`` (a
:class:`~app.study.status.StudyStatus`) or ``show_error``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MODEL_COLUMNS = ("created (UTC)", "trials", "participants", "model accuracy", "participant+image prior",
                 "always yes", "gain")
COLUMNS = ("participant", "session", "run", "status", "trials", "validation", "lost %", "gaps", "agreement", "")


def _f(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


class StudyPage(QWidget):
    refresh_requested = Signal(str)  # the study folder
    recover_requested = Signal(str)  # a run's session folder
    review_requested = Signal(str)  # a run's session folder
    back_requested = Signal()
    train_requested = Signal(str)  # the study folder
    cancel_training_requested = Signal()
    use_model_requested = Signal(str)  # a trained model's .onnx

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("study folder (the output folder of its sessions)")
        browse, self.refresh_button = QPushButton("Browse…"), QPushButton("Refresh")
        self.back_button = QPushButton("Back")
        browse.clicked.connect(self._browse)
        self.refresh_button.clicked.connect(lambda: self.refresh_requested.emit(self.folder.text().strip()))
        self.back_button.clicked.connect(self.back_requested.emit)
        self.folder.returnPressed.connect(lambda: self.refresh_requested.emit(self.folder.text().strip()))
        top = QHBoxLayout()
        for w in (QLabel("Study"), self.folder, browse, self.refresh_button, self.back_button):
            top.addWidget(w, 1 if w is self.folder else 0)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.cellDoubleClicked.connect(self._review_row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.train_button, self.cancel_button = QPushButton("Train on this study"), QPushButton("Cancel")
        self.train_button.setToolTip("cross-validate on this study's answered trials against the participant-and-"
                                     "image prior, then train a model on all of them (kept in the study's models/)")
        self.cancel_button.setEnabled(False)
        self.train_progress = QProgressBar()
        self.train_progress.setRange(0, 1000)
        self.train_status = QLabel("")
        self.train_status.setWordWrap(True)
        self.train_button.clicked.connect(lambda: self.train_requested.emit(self.folder.text().strip()))
        self.cancel_button.clicked.connect(self.cancel_training_requested.emit)
        train_row = QHBoxLayout()
        for w in (self.train_button, self.train_progress, self.cancel_button):
            train_row.addWidget(w, 1 if w is self.train_progress else 0)
        self.models = QTableWidget(0, len(MODEL_COLUMNS))
        self.models.setHorizontalHeaderLabels(list(MODEL_COLUMNS))
        self.models.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.models.horizontalHeader().setStretchLastSection(True)
        self.models.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.models.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.use_button = QPushButton("Use the selected model for the next sessions")
        self.use_button.clicked.connect(self._use_selected)
        self.model_paths: list[str] = []
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addWidget(self.summary)
        outer.addWidget(self.table, 1)
        outer.addWidget(self.message)
        outer.addWidget(QLabel("Models trained on this study (cross-validated on its own trials)"))
        outer.addLayout(train_row)
        outer.addWidget(self.train_status)
        outer.addWidget(self.models)
        outer.addWidget(self.use_button)
        self.run_folders: list[str] = []
        self.recover_buttons: dict[int, QPushButton] = {}

    def open(self, folder: str | Path) -> None:
        self.folder.setText(str(folder))
        self.refresh_requested.emit(str(folder))

    def show_busy(self, message: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(message)
        self.refresh_button.setEnabled(False)
        for b in self.recover_buttons.values():
            b.setEnabled(False)

    def show_error(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.message.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.message.setText(message)

    def show_status(self, status: Any, message: str = "") -> None:
        """Fill the table from a StudyStatus (app.study.status)."""
        self.refresh_button.setEnabled(True)
        self.message.setStyleSheet("")
        self.message.setText(message)
        totals = status.to_dict()["totals"]
        agree = ("–" if totals["agreement"] is None
                 else f"{totals['agreement']:.0%} of {totals['agreement_trials']} answered trials")
        self.summary.setText(f"protocol {status.protocol_name or '?'}: {totals['participants']} participants, "
                             f"{totals['sessions']} sessions, {totals['trials_done']} trials done, "
                             f"{totals['needs_recovery']} to recover; model agreement {agree}")
        self.table.setRowCount(len(status.runs))
        self.run_folders, self.recover_buttons = [], {}
        for row, r in enumerate(status.runs):
            q = r.quality
            validation = "–" if q.validation_mean_deg is None else \
                f"{q.validation or '?'} {q.validation_mean_deg:.2f}° (max {_f(q.validation_max_deg, '.2f')}°)"
            trials = f"{r.trials_done}/{'?' if r.trials_total is None else r.trials_total}"
            gaps = f"{q.gaps} ({q.gap_s:.1f} s)" if q.gaps else "0"
            agreement = "–" if r.agreement is None else f"{r.agreement:.0%} ({r.agreement_trials})"
            cells = (f"sub-{r.participant}", f"ses-{r.session}", str(r.run), r.status, trials, validation,
                     _f(q.lost_pct, ".2f"), gaps, agreement)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3 and r.action is not None:
                    item.setForeground(Qt.GlobalColor.red)
                    item.setToolTip(r.action)
                if r.notes:
                    item.setToolTip("\n".join(r.notes))
                self.table.setItem(row, col, item)
            self.run_folders.append(r.folder)
            if r.action is not None:
                button = QPushButton("Recover")
                button.setToolTip(r.action)
                button.clicked.connect(lambda _=False, f=r.folder: self.recover_requested.emit(f))
                self.table.setCellWidget(row, len(COLUMNS) - 1, button)
                self.recover_buttons[row] = button
            else:
                self.table.setCellWidget(row, len(COLUMNS) - 1, None)

    # -- training ------------------------------------------------------------------------------------
    def show_training(self, running: bool, fraction: float = 0.0, message: str = "") -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.train_progress.setValue(round(fraction * 1000))
        self.train_status.setStyleSheet("")
        self.train_status.setText(message)

    def show_training_error(self, message: str) -> None:
        self.show_training(False, 0.0, "")
        self.train_status.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.train_status.setText(message)

    def show_models(self, models: list[Any]) -> None:
        """Trained models (app.study.trained_models.TrainedModel), newest first."""
        self.models.setRowCount(len(models))
        self.model_paths = [str(m.onnx) for m in models]
        for row, m in enumerate(models):
            cells = (m.created_utc, str(m.trials), str(m.participants), f"{m.accuracy:.3f} ± {m.accuracy_std:.3f}",
                     f"{m.prior_accuracy:.3f}", f"{m.always_yes:.3f}", f"{m.gain:+.3f}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(m.folder))
                self.models.setItem(row, col, item)
        if models:
            self.models.selectRow(0)
        self.use_button.setEnabled(bool(models))

    def _use_selected(self) -> None:
        row = self.models.currentRow()
        if 0 <= row < len(self.model_paths):
            self.use_model_requested.emit(self.model_paths[row])

    def _review_row(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.run_folders):
            self.review_requested.emit(self.run_folders[row])

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Study folder", self.folder.text())
        if path:
            self.open(path)
