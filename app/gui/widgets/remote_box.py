"""The set-up page's remote-control box, like LabRecorder's RCS box: a toggle and a port.

Ticking it asks (``toggled(on, port)``) for a LabRecorder remote-control server on 127.0.0.1 that records
into the output folder; the window answers with :meth:`show_state`. Changing the port while it listens
restarts it on the new port, as LabRecorder does.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

DEFAULT_PORT = 22345  # LabRecorder's


class RemoteControlBox(QWidget):
    toggled = Signal(bool, int)  # on, port

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.enable = QCheckBox("accept LabRecorder remote control on 127.0.0.1, port")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.status = QLabel("off")
        row.addWidget(self.enable)
        row.addWidget(self.port)
        row.addWidget(self.status, 1)
        self.enable.toggled.connect(lambda on: self.toggled.emit(on, self.port.value()))
        self.port.valueChanged.connect(self._port_changed)

    def _port_changed(self, port: int) -> None:
        if self.enable.isChecked():
            self.toggled.emit(False, port)
            self.toggled.emit(True, port)

    def show_state(self, listening: bool, message: str) -> None:
        """What the window made of the request: listening (or not) and a line saying where or why not."""
        old = self.enable.blockSignals(True)
        self.enable.setChecked(listening)
        self.enable.blockSignals(old)
        self.status.setText(message)
        self.status.setStyleSheet("" if listening or message == "off" else "color: #b3261e;")
