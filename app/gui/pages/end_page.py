"""The end-of-session page: summary (trials, data quality, agreement), export with a progress bar,
a button to open the session folder, and each trial's scanpath and dwell heatmap.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class EndPage(QWidget):
    export_requested = Signal()
    open_folder_requested = Signal()
    review_requested = Signal()
    new_session_requested = Signal()
    plot_selected = Signal(int)  # row in the plot list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setVisible(False)
        left.addWidget(self.error)
        box = QGroupBox("Session summary")
        self.summary = QFormLayout(box)
        self.summary_labels: dict[str, QLabel] = {}
        left.addWidget(box)
        self.export_button = QPushButton("Export session (bundle + BIDS)")
        self.export_button.clicked.connect(self.export_requested.emit)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.export_status = QLabel("")
        self.export_status.setWordWrap(True)
        self.open_button = QPushButton("Open session folder")
        self.open_button.clicked.connect(self.open_folder_requested.emit)
        self.review_button = QPushButton("Review the recording")
        self.review_button.clicked.connect(self.review_requested.emit)
        self.new_button = QPushButton("New session")
        self.new_button.clicked.connect(self.new_session_requested.emit)
        for w in (self.export_button, self.progress, self.export_status, self.open_button, self.review_button,
                  self.new_button):
            left.addWidget(w)
        left.addStretch(1)
        outer.addLayout(left, 1)

        right = QVBoxLayout()
        self.plot_list = QListWidget()
        self.plot_list.currentRowChanged.connect(self.plot_selected.emit)
        right.addWidget(QLabel("Trials (scanpath and dwell heatmap, also saved as PNG)"))
        right.addWidget(self.plot_list)
        imgs = QHBoxLayout()
        self.scanpath = QLabel("scanpath")
        self.heatmap = QLabel("heatmap")
        for lab in (self.scanpath, self.heatmap):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setMinimumSize(320, 180)
            imgs.addWidget(lab, 1)
        right.addLayout(imgs, 2)
        self.plots_status = QLabel("")
        right.addWidget(self.plots_status)
        outer.addLayout(right, 2)

    def show_summary(self, rows: list[tuple[str, str]]) -> None:
        for key, value in rows:
            if key not in self.summary_labels:
                label = QLabel()
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                label.setWordWrap(True)
                self.summary_labels[key] = label
                self.summary.addRow(key, label)
            self.summary_labels[key].setText(value)

    def show_error(self, message: str | None) -> None:
        """Why the session failed, in the words the command line would print (empty: it did not fail)."""
        self.error.setText("" if not message else f"session failed: {message}")
        self.error.setVisible(bool(message))

    def set_export_available(self, available: bool, why: str = "") -> None:
        self.export_button.setEnabled(available)
        self.export_button.setToolTip(why)

    def show_export_progress(self, fraction: float | None, message: str) -> None:
        """``fraction`` None: busy (a step without its own progress); 1.0: done."""
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(fraction * 100))
        self.export_status.setText(message)

    def show_plot_list(self, names: list[str], status: str = "") -> None:
        self.plot_list.clear()
        self.plot_list.addItems(names)
        self.plots_status.setText(status)
        if names:
            self.plot_list.setCurrentRow(0)

    def show_plot(self, scanpath: QImage | None, heatmap: QImage | None) -> None:
        for label, img, name in ((self.scanpath, scanpath, "scanpath"), (self.heatmap, heatmap, "heatmap")):
            if img is None:
                label.setPixmap(QPixmap())
                label.setText(f"no {name}")
            else:
                label.setPixmap(QPixmap.fromImage(img).scaled(label.width(), label.height(),
                                                              Qt.AspectRatioMode.KeepAspectRatio,
                                                              Qt.TransformationMode.SmoothTransformation))
