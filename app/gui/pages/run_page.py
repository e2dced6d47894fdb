"""The run page: banners on top, the live stimulus view, the prediction panel, quality and progress.

It listens to a :class:`LiveModel` and sets its widgets; it reads images from an
:class:`ImageStore` (preloaded by the controller), never from disk itself.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.gui.images import ImageStore
from app.gui.live_model import BANNER_ORDER, LiveModel
from app.gui.widgets.banners import BannerArea
from app.gui.widgets.prediction_panel import PredictionPanel
from app.gui.widgets.quality_bar import QualityBar
from app.gui.widgets.stimulus_view import StimulusView


class RunPage(QWidget):
    stop_requested = Signal()
    pause_toggled = Signal()

    def __init__(self, model: LiveModel, images: ImageStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.images = images
        outer = QVBoxLayout(self)
        self.banners = BannerArea()
        self.banners.setVisible(False)
        self.banners.dismissed.connect(model.dismiss)
        outer.addWidget(self.banners)
        split = QSplitter()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.aoi_label = QLabel("AOI under gaze: –")
        self.view = StimulusView()
        ll.addWidget(self.view, 1)
        ll.addWidget(self.aoi_label)
        split.addWidget(left)
        self.panel = PredictionPanel()
        split.addWidget(self.panel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        outer.addWidget(split, 1)
        bottom = QHBoxLayout()
        self.quality = QualityBar()
        self.pause_button = QPushButton("Pause after this trial")
        self.pause_button.setCheckable(True)
        self.pause_button.setEnabled(False)
        self.pause_button.setToolTip("only the PsychoPy participant screen can pause")
        self.pause_button.toggled.connect(self._paused)
        self.stop_button = QPushButton("Stop session")
        self.stop_button.clicked.connect(self.stop_requested.emit)
        bottom.addWidget(self.quality, 1)
        bottom.addWidget(self.pause_button)
        bottom.addWidget(self.stop_button)
        outer.addLayout(bottom)
        model.subscribe(self.on_model)
        self.refresh()

    def set_pausable(self, can_pause: bool) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.blockSignals(False)
        self.pause_button.setText("Pause after this trial")
        self.pause_button.setEnabled(can_pause)

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause after this trial")
        self.pause_toggled.emit()

    def refresh(self) -> None:
        for topic in ("session", "trial", "screen", "prediction", "answer", "personalisation", "banners", "quality",
                      "gaze"):
            self.on_model(topic)

    def on_model(self, topic: str) -> None:
        m = self.model
        t = m.trial
        if topic == "trial":
            if t is None:
                self.view.set_trial(None, None)
            else:
                self.view.set_trial(t.layout, self.images.get(t.image), t.trial_id)
        if topic in ("trial", "screen", "session"):
            self.view.set_screen(m.screen, m.target)
        if topic in ("trial", "fixation"):
            self.view.set_trail(m.trail())
        if topic in ("trial", "prediction", "answer", "session"):
            if t is None:
                self.panel.show_trial(None, "", False, [], None, None)
            else:
                self.panel.show_trial(t.number, t.trial_id, t.practice, t.probs_history, t.answer, t.predicted)
        if topic in ("personalisation", "session"):
            self.panel.show_personalisation(m.personalisation)
        if topic in ("answer", "session"):
            rows = [(f"{v.number} {v.trial_id}", v.predicted or "–", v.answer or "–", v.agrees)
                    for v in sorted(m.trials.values(), key=lambda v: v.number) if v.answer is not None]
            self.panel.show_agreement(m.agreement, rows)
        if topic in ("trial", "answer", "session"):
            self.quality.show_progress(m.current, m.done, m.n_trials, m.tracker, m.provider)
        if topic == "banners":
            order = {k: i for i, k in enumerate(BANNER_ORDER)}
            self.banners.show_banners(sorted(m.banners.items(), key=lambda kv: order.get(kv[0], 99)))
        if topic == "quality":
            self.quality.show_quality(m.rate_hz, m.nominal_rate_hz, m.loss_fraction, m.lost, m.validation)
        if topic in ("gaze", "trial"):
            gaze = None if m.gaze is None else (m.gaze[1], m.gaze[2])
            self.view.set_gaze(gaze, m.gaze_aoi)
            name = "–"
            if t is not None and 0 <= m.gaze_aoi < len(t.layout.aois):
                aoi = t.layout.aois[m.gaze_aoi]
                name = f"{aoi.name} ({aoi.kind})"
            self.aoi_label.setText(f"AOI under gaze: {name}")
