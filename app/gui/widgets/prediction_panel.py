"""Live prediction panel: the model's YES / NO / UNCLEAR probabilities for the trial on screen,
how they moved with each fixation, the participant's answer once given, and the running agreement.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.answers import ANSWERS

CLASSES = ANSWERS
COLOURS = {"yes": QColor("#2e9d4a"), "no": QColor("#d0433a"), "unclear": QColor("#c99a12")}


class ProbabilityHistory(QWidget):
    """Each class's probability after each fixation of the trial (a small line chart)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(80)
        self.history: list[tuple[float, float, float]] = []

    def set_history(self, history: list[tuple[float, float, float]]) -> None:
        self.history = list(history)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#202020"))
        w, h = self.width() - 8, self.height() - 8
        p.setPen(QPen(QColor("#555555"), 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(4, 4 + h / 2), QPointF(4 + w, 4 + h / 2))
        n = len(self.history)
        if n:
            for c, name in enumerate(CLASSES):
                p.setPen(QPen(COLOURS[name], 2))
                pts = [QPointF(4 + (w * i / max(n - 1, 1)), 4 + h * (1 - probs[c])) for i, probs in
                       enumerate(self.history)]
                if n == 1:
                    p.drawEllipse(pts[0], 2, 2)
                for a, b in zip(pts, pts[1:], strict=False):
                    p.drawLine(a, b)
        p.end()


class PredictionPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Live prediction", parent)
        lay = QVBoxLayout(self)
        self.trial_label = QLabel("no trial yet")
        lay.addWidget(self.trial_label)
        self.bars: dict[str, QProgressBar] = {}
        for name in CLASSES:
            row = QHBoxLayout()
            label = QLabel(name.upper())
            label.setFixedWidth(70)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setFormat("–")
            bar.setStyleSheet(f"QProgressBar::chunk {{ background: {COLOURS[name].name()}; }}")
            self.bars[name] = bar
            row.addWidget(label)
            row.addWidget(bar)
            lay.addLayout(row)
        self.chart = ProbabilityHistory()
        lay.addWidget(self.chart)
        self.answer_label = QLabel("answer: –")
        self.agreement_label = QLabel("agreement: –")
        font = self.agreement_label.font()
        font.setBold(True)
        self.agreement_label.setFont(font)
        self.personal_label = QLabel("personalised: not yet (no answered trial)")
        self.personal_label.setToolTip("a per-participant bias on the model's logits, refitted after every answer")
        lay.addWidget(self.answer_label)
        lay.addWidget(self.agreement_label)
        lay.addWidget(self.personal_label)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["trial", "model", "answer", ""])
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)

    def show_trial(self, number: int | None, trial_id: str, practice: bool,
                   history: list[tuple[float, float, float]], answer: str | None, predicted: str | None) -> None:
        if number is None:
            self.trial_label.setText("no trial yet")
        else:
            self.trial_label.setText(f"trial {number}: {trial_id}{' (practice)' if practice else ''}")
        probs = history[-1] if history else None
        for c, name in enumerate(CLASSES):
            bar = self.bars[name]
            if probs is None:
                bar.setValue(0)
                bar.setFormat("–")
            else:
                bar.setValue(round(probs[c] * 1000))
                bar.setFormat(f"{probs[c]:.0%}")
        self.chart.set_history(history)
        if answer is None:
            self.answer_label.setText("answer: waiting")
        else:
            said = f" (model: {predicted})" if predicted else ""
            self.answer_label.setText(f"answer: {answer}{said}")

    def show_personalisation(self, personalisation: tuple[int, tuple[float, float, float]] | None) -> None:
        if personalisation is None:
            self.personal_label.setText("personalised: not yet (no answered trial)")
            return
        n, bias = personalisation
        shifts = ", ".join(f"{name} {b:+.2f}" for name, b in zip(CLASSES, bias, strict=True))
        self.personal_label.setText(f"personalised from {n} answered trial{'s' if n != 1 else ''}: {shifts}")

    def show_agreement(self, agreement: float | None, rows: list[tuple[str, str, str, bool | None]]) -> None:
        self.agreement_label.setText("agreement: –" if agreement is None else f"agreement: {agreement:.0%}")
        self.table.setRowCount(len(rows))
        for r, (trial, model, answer, agrees) in enumerate(rows):
            mark = "" if agrees is None else ("✓" if agrees else "✗")
            for c, text in enumerate((trial, model, answer, mark)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        if rows:
            self.table.scrollToBottom()
