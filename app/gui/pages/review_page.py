"""The review page: play back a recorded session from its XDF.

A timeline over the whole run (trials as bars coloured by the answer, the live P(yes) over time,
gaps), the participant's screen at the playhead (stimulus, raw gaze of the last quarter second, the
trial's fixations so far as a numbered scanpath, the AOI under gaze filled), and what the model
said at that moment beside the participant's answer. Play, pause, 1x to 8x, and scrubbing by
clicking or dragging on the timeline or the slider.

The page reads nothing itself: the window hands it a loaded
:class:`~app.runfolder.review.SessionReview` (the entry layer's backend loads it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.core.answers import most_probable
from app.gui.widgets.stimulus_view import StimulusView
from app.runfolder.review import SessionReview

ANSWER_COLOURS = {"yes": QColor(60, 170, 90), "no": QColor(200, 70, 60), "unclear": QColor(220, 170, 40)}
SPEEDS = (1.0, 2.0, 4.0, 8.0)
SLIDER_STEPS = 10_000


class Playback:
    """The playhead: a time in the run's LSL clock that advances at ``speed`` while playing."""

    def __init__(self, review: SessionReview) -> None:
        self.review = review
        self.t = review.start
        self.playing = False
        self.speed = 1.0

    def seek(self, t: float) -> None:
        self.t = min(max(t, self.review.start), self.review.end)

    def advance(self, wall_s: float) -> None:
        if self.playing:
            self.seek(self.t + wall_s * self.speed)
            if self.t >= self.review.end:
                self.playing = False

    @property
    def fraction(self) -> float:
        return (self.t - self.review.start) / self.review.duration if self.review.duration > 0 else 0.0


class Timeline(QWidget):
    """Trials, P(yes) and the playhead; a press or drag seeks."""

    seek_requested = Signal(float)  # LSL time

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.review: SessionReview | None = None
        self.t = 0.0

    def set_review(self, review: SessionReview) -> None:
        self.review, self.t = review, review.start
        self.update()

    def set_time(self, t: float) -> None:
        self.t = t
        self.update()

    def x_of(self, t: float) -> float:
        r = self.review
        return 8 + (self.width() - 16) * ((t - r.start) / r.duration if r is not None and r.duration > 0 else 0.0)

    def t_of(self, x: float) -> float:
        r = self.review
        if r is None:
            return 0.0
        return r.start + r.duration * min(max((x - 8) / max(self.width() - 16, 1), 0.0), 1.0)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self.seek_requested.emit(self.t_of(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.seek_requested.emit(self.t_of(event.position().x()))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#202020"))
        r = self.review
        if r is None:
            return
        h = self.height()
        for tr in r.trials:
            rec = tr.record
            x0, x1 = self.x_of(rec.start), self.x_of(tr.end)
            colour = ANSWER_COLOURS.get(rec.response, QColor(120, 120, 120))
            p.fillRect(QRectF(x0, h - 22, max(x1 - x0, 1.0), 14), colour)
            if math.isfinite(rec.stim_onset):
                p.fillRect(QRectF(self.x_of(rec.stim_onset), h - 26, 2, 22), QColor("white"))
        p.setPen(QPen(QColor(90, 180, 255), 1.5))
        last: QPointF | None = None
        for t, row in zip(r.prediction_t.tolist(), r.predictions.tolist(), strict=True):
            pt = QPointF(self.x_of(t), 6 + (h - 36) * (1.0 - row[1]))
            if last is not None:
                p.drawLine(last, pt)
            last = pt
        p.setPen(QPen(QColor("#ff4040"), 2))
        x = self.x_of(self.t)
        p.drawLine(QPointF(x, 0), QPointF(x, h))


class ReviewPage(QWidget):
    back_requested = Signal()

    def __init__(self, images: Callable[[Path], QImage | None], frame_ms: int = 33,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images = images
        self.playback: Playback | None = None
        self.view = StimulusView()
        self.timeline = Timeline()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.play_button = QPushButton("Play")
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x", s)
        self.back_button = QPushButton("Back")
        self.clock = QLabel()
        self.trial_info = QLabel()
        self.gaze_info = QLabel()
        self.model_info = QLabel()
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        controls = QHBoxLayout()
        for w in (self.play_button, QLabel("Speed"), self.speed, self.clock):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.back_button)
        info = QHBoxLayout()
        for w in (self.trial_info, self.gaze_info, self.model_info):
            info.addWidget(w, 1)
        outer = QVBoxLayout(self)
        outer.addWidget(self.view, 1)
        outer.addLayout(info)
        outer.addWidget(self.timeline)
        outer.addWidget(self.slider)
        outer.addLayout(controls)
        outer.addWidget(self.notes)

        self.play_button.clicked.connect(self.toggle_play)
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.back_button.clicked.connect(self._back)
        self.timeline.seek_requested.connect(self.seek)
        self.slider.sliderMoved.connect(self._slider_moved)
        self.timer = QTimer(self)
        self.timer.setInterval(frame_ms)
        self.timer.timeout.connect(self._tick)
        self._last_tick = time.perf_counter()
        self._shown_trial: int | None = -2

    def open(self, review: SessionReview) -> None:
        self.playback = Playback(review)
        self.timeline.set_review(review)
        self.view.screen_px = (review.geometry.width_px, review.geometry.height_px)
        self.notes.setText("\n".join([f"{review.xdf}  ({len(review.trials)} trials, {review.duration:.1f} s)",
                                      *review.notes]))
        self._shown_trial = -2
        self._speed_changed()
        self.seek(review.start)

    def toggle_play(self) -> None:
        pb = self.playback
        if pb is None:
            return
        if pb.t >= pb.review.end:
            pb.seek(pb.review.start)
        pb.playing = not pb.playing
        self.play_button.setText("Pause" if pb.playing else "Play")
        self._last_tick = time.perf_counter()
        if pb.playing:
            self.timer.start()
        else:
            self.timer.stop()

    def seek(self, t: float) -> None:
        if self.playback is not None:
            self.playback.seek(t)
            self.show_time()

    def _slider_moved(self, value: int) -> None:
        if self.playback is not None:
            r = self.playback.review
            self.seek(r.start + r.duration * value / SLIDER_STEPS)

    def _speed_changed(self) -> None:
        if self.playback is not None:
            self.playback.speed = float(self.speed.currentData())

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.playback is not None:
            self.playback.advance(now - self._last_tick)
            if not self.playback.playing:
                self._stopped()
            self.show_time()
        self._last_tick = now

    def _stopped(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def _back(self) -> None:
        if self.playback is not None and self.playback.playing:
            self.toggle_play()
        self.back_requested.emit()

    def show_time(self) -> None:
        """Draw everything at the playhead."""
        pb = self.playback
        if pb is None:
            return
        r, t = pb.review, pb.t
        k = r.trial_at(t)
        if k != self._shown_trial:
            self._shown_trial = k
            if k is None:
                self.view.set_trial(None, None, "between trials")
            else:
                tr = r.trials[k]
                self.view.set_trial(tr.layout, self.images(tr.image) if tr.image is not None else None,
                                    tr.record.trial_id)
        screen = r.screen_at(t)
        self.view.set_screen(screen)
        self.view.set_trail(r.scanpath(t))
        self.view.set_raw([tuple(p) for p in r.raw_gaze(t).tolist()])
        aoi = r.aoi_at(t)
        self.view.set_gaze(r.gaze_at(t), aoi)
        self.timeline.set_time(t)
        self.slider.blockSignals(True)
        self.slider.setValue(round(pb.fraction * SLIDER_STEPS))
        self.slider.blockSignals(False)
        self.clock.setText(f"{t - r.start:7.2f} s / {r.duration:.2f} s")
        if k is None:
            self.trial_info.setText("no trial")
            self.gaze_info.setText("")
            self.model_info.setText("")
            return
        rec = r.trials[k].record
        self.trial_info.setText(f"trial {rec.number} {rec.trial_id} ({screen.replace('_', ' ')})")
        aois = r.trials[k].layout.aois
        self.gaze_info.setText(f"gaze on: {aois[aoi].name if 0 <= aoi < len(aois) else '—'}")
        probs = r.prediction_at(t)
        answered_at = rec.stim_onset + rec.rt_ms / 1000.0
        if not rec.response:
            answer = "none recorded"
        elif math.isfinite(answered_at) and t < answered_at:
            answer = f"{rec.response} (given at +{rec.rt_ms / 1000.0:.1f} s)"
        else:
            answer = rec.response
        if probs is None:
            self.model_info.setText(f"model: no prediction yet · answer: {answer}")
        else:
            best = most_probable(probs)
            self.model_info.setText(f"model: {best} (P yes {probs[0]:.2f}, no {probs[1]:.2f}, unclear "
                                    f"{probs[2]:.2f}) · answer: {answer}")
