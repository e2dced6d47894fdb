"""Warning banners (stream loss, dropped samples, low disk): one coloured line per kind, dismissable."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

SEVERE = {"disk_full", "stream_lost", "recorder", "error", "no_gaze"}
GOOD = {"stream_back"}


class BannerArea(QWidget):
    dismissed = Signal(str)  # kind

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.banners: dict[str, QLabel] = {}
        self._frames: dict[str, QFrame] = {}

    def show_banners(self, banners: list[tuple[str, str]]) -> None:
        """Show exactly these (kind, message) banners, in this order."""
        wanted = dict(banners)
        for kind in list(self._frames):
            if kind not in wanted:
                frame = self._frames.pop(kind)
                self.banners.pop(kind)
                self._lay.removeWidget(frame)
                frame.deleteLater()
        for kind, message in banners:
            if kind not in self._frames:
                self._add(kind)
            self.banners[kind].setText(message)
        self.setVisible(bool(banners))

    def _add(self, kind: str) -> None:
        colour = "#b3261e" if kind in SEVERE else ("#2e7d32" if kind in GOOD else "#b26a00")
        frame = QFrame()
        frame.setObjectName(f"banner_{kind}")
        frame.setStyleSheet(f"QFrame#banner_{kind} {{ background: {colour}; border-radius: 4px; }} "
                            "QLabel { color: white; font-weight: bold; }")
        row = QHBoxLayout(frame)
        row.setContentsMargins(8, 4, 8, 4)
        label = QLabel()
        label.setWordWrap(True)
        close = QPushButton("×")
        close.setFlat(True)
        close.setFixedWidth(24)
        close.setToolTip("dismiss")
        close.clicked.connect(lambda: self.dismissed.emit(kind))
        row.addWidget(label, 1)
        row.addWidget(close)
        self._lay.addWidget(frame)
        self.banners[kind] = label
        self._frames[kind] = frame
