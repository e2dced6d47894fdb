"""Data quality and progress while recording: sampling rate, data loss, validation, trial progress."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class QualityBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.tracker_label = QLabel("tracker: –")
        self.rate_label = QLabel("rate: –")
        self.loss_label = QLabel("loss: –")
        self.validation_label = QLabel("validation: not run")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("trial 0 / 0")
        self.progress.setMinimumWidth(190)
        for w in (self.tracker_label, self.rate_label, self.loss_label, self.validation_label):
            row.addWidget(w)
        row.addWidget(self.progress, 1)

    def show_quality(self, rate_hz: float | None, nominal_hz: float | None, loss: float | None,
                     lost: int, validation: str | None) -> None:
        nominal = f" of {nominal_hz:g}" if nominal_hz else ""
        self.rate_label.setText("rate: –" if rate_hz is None else f"rate: {rate_hz:.0f}{nominal} Hz")
        self.loss_label.setText("loss: –" if loss is None else f"loss: {loss:.2%} ({lost})")
        text = validation or "not run"
        self.validation_label.setText(f"validation: {text.split(' (')[0]}")  # the reason goes in the tooltip
        self.validation_label.setToolTip(text)

    def show_progress(self, current: int | None, done: int, total: int, tracker: str, provider: str | None) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        on = "–" if current is None else str(current)
        self.progress.setFormat(f"trial {on} / {total} ({done} done)")
        model = f", model on {provider}" if provider else ", no model"
        self.tracker_label.setText(f"tracker: {tracker or '–'}{model}")
