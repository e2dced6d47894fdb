"""The set-up page: participant and session, protocol (with a preview of its trials), tracker
(the LSL gaze streams found, with rate and channel check), output folder and model.

The page reads nothing from disk or LSL: it asks (signals) and the controller answers
(``show_protocol``, ``show_trackers``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PovLabError
from app.core.protocol import Protocol
from app.gui.backend import SetupChoice, TrackerChoice
from app.gui.widgets.remote_box import RemoteControlBox


class SetupPage(QWidget):
    protocol_changed = Signal(str)
    refresh_trackers = Signal()
    start_requested = Signal()
    edit_aois_requested = Signal()
    study_requested = Signal(str)  # the output folder, opened as a study

    def __init__(self, protocols: list[Path], out: Path, model: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        form = QFormLayout()
        self.participant = QLineEdit()
        self.participant.setPlaceholderText("letters and digits, e.g. P01")
        self.session = QLineEdit("01")
        form.addRow("Participant", self.participant)
        form.addRow("Session", self.session)

        self.protocol = QComboBox()
        self.protocol.setEditable(True)
        for p in protocols:
            self.protocol.addItem(str(p))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_protocol)
        row = QHBoxLayout()
        row.addWidget(self.protocol, 1)
        row.addWidget(browse)
        self.edit_aois = QPushButton("Edit AOIs…")
        self.edit_aois.setToolTip("draw, move, label and delete the image regions of this protocol")
        self.edit_aois.clicked.connect(self.edit_aois_requested.emit)
        row.addWidget(self.edit_aois)
        form.addRow("Protocol", row)
        self.protocol.currentTextChanged.connect(self.protocol_changed.emit)

        self.tracker = QComboBox()
        self.refresh = QPushButton("Find streams")
        self.refresh.clicked.connect(self.refresh_trackers.emit)
        row = QHBoxLayout()
        row.addWidget(self.tracker, 1)
        row.addWidget(self.refresh)
        form.addRow("Tracker", row)
        self.tracker_note = QLabel("")
        form.addRow("", self.tracker_note)
        self.tracker.currentIndexChanged.connect(self._tracker_note)
        self._trackers: list[TrackerChoice] = []

        self.out = QLineEdit(str(out))
        out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._browse_out)
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        self.study_button = QPushButton("Study overview…")
        self.study_button.setToolTip("participants and sessions recorded in this folder: status, quality, agreement")
        self.study_button.clicked.connect(lambda: self.study_requested.emit(self.out.text().strip()))
        row.addWidget(self.study_button)
        row.addWidget(out_browse)
        form.addRow("Output folder", row)

        self.model = QLineEdit("" if model is None else str(model))
        self.no_model = QCheckBox("no live predictions")
        self.no_model.setChecked(model is None)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(self.no_model)
        form.addRow("Model", row)
        self.presenter = QComboBox()
        self.presenter.addItem("PsychoPy window (participant answers with keys)", "psychopy")
        self.presenter.addItem("timed, no window (simulated participant)", "headless")
        self.presenter.setCurrentIndex(1)
        form.addRow("Participant screen", self.presenter)
        self.remote = RemoteControlBox()  # LabRecorder's RCS box: a lab script starts/stops recordings
        form.addRow("Remote control", self.remote)
        outer.addLayout(form)

        outer.addWidget(QLabel("Trials of the protocol"))
        self.preview = QTableWidget(0, 4)
        self.preview.setHorizontalHeaderLabels(["#", "id", "caption", "expected"])
        self.preview.horizontalHeader().setStretchLastSection(True)
        self.preview.verticalHeader().setVisible(False)
        outer.addWidget(self.preview, 1)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.error.setWordWrap(True)
        outer.addWidget(self.error)
        self.start = QPushButton("Start session")
        self.start.clicked.connect(self.start_requested.emit)
        outer.addWidget(self.start)

    # -- answers from the controller -----------------------------------------------------------
    def show_protocol(self, protocol: Protocol | None, error: str = "") -> None:
        self.preview.setRowCount(0)
        self.error.setText(error)
        if protocol is None:
            return
        trials = protocol.all_trials
        self.preview.setRowCount(len(trials))
        for r, t in enumerate(trials):
            expected = (t.expected or "–") + (" (practice)" if t.practice else "")
            for c, text in enumerate((str(r + 1), t.trial_id, t.caption, expected)):
                self.preview.setItem(r, c, QTableWidgetItem(text))
        self.preview.resizeColumnsToContents()

    def show_trackers(self, trackers: list[TrackerChoice], error: str = "") -> None:
        self._trackers = list(trackers)
        self.tracker.clear()
        for t in trackers:
            mark = "" if t.ok else "  ⚠"
            rate = f"{t.rate_hz:g} Hz" if t.rate_hz > 0 else "irregular rate"
            self.tracker.addItem(f"{t.label}  ({rate}, {t.n_channels} ch){mark}")
        streams = [t for t in trackers if t.ok and t.tracker != "sim"]
        if len(streams) > 1 and not error:  # never guess which one is the participant's tracker
            error = (f"{len(streams)} gaze streams answer ({'; '.join(t.label for t in streams)}): "
                     "choose the tracker to record")
        if error:
            self.tracker_note.setText(error)
        else:
            self._tracker_note()

    def show_error(self, message: str) -> None:
        self.error.setText(message)

    # -- what was chosen --------------------------------------------------------------------------
    def choice(self, duration_s: float | None = None, seed: int | None = None) -> SetupChoice:
        """The set-up as chosen; raises PovLabError with a clear message when something is missing."""
        i = self.tracker.currentIndex()
        if not 0 <= i < len(self._trackers):
            raise PovLabError("no tracker chosen: press Find streams and pick one (the simulator is always listed)")
        tracker = self._trackers[i].tracker
        model_text = self.model.text().strip()
        model = None if (self.no_model.isChecked() or not model_text) else Path(model_text)
        return SetupChoice(Path(self.protocol.currentText().strip()), self.participant.text().strip(),
                           self.session.text().strip(), tracker, Path(self.out.text().strip()), model,
                           duration_s=duration_s, seed=seed, presenter=str(self.presenter.currentData()))

    def _tracker_note(self) -> None:
        i = self.tracker.currentIndex()
        if 0 <= i < len(self._trackers):
            t = self._trackers[i]
            self.tracker_note.setText(("ok: " if t.ok else "check: ") + t.note)

    def _browse_protocol(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Protocol", self.protocol.currentText(), "Protocols (*.toml)")
        if path:
            self.protocol.setEditText(path)

    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out.text())
        if path:
            self.out.setText(path)
