"""The participant's screen as the operator sees it: stimulus, AOIs, fixation trail, gaze point.

Drawn with QPainter in screen pixels scaled to the widget (aspect kept). The AOI under gaze is
filled; the trail is the trial's latest fixations (circle area grows with duration, numbered in
order, joined by saccade lines); the gaze point is the newest valid sample.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.layout import TrialLayout

BACKGROUND = QColor("#7f7f7f")
AOI_PEN = QColor(255, 255, 255, 90)
HIGHLIGHT = QColor(255, 200, 0, 110)
TRAIL = QColor(0, 160, 255, 200)
GAZE = QColor(230, 30, 30)
RAW = QColor(255, 90, 90, 150)


class StimulusView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.screen_px: tuple[int, int] = (1920, 1080)
        self.layout_: TrialLayout | None = None
        self.image: QImage | None = None
        self.title = ""
        self.trail: list[tuple[float, float, float, int]] = []
        self.gaze: tuple[float, float] | None = None
        self.raw: list[tuple[float, float]] = []  # recent raw samples (the review page draws them)
        self.highlight = -1
        self.screen = "stimulus"  # validation_target | fixation_cross | stimulus | blank
        self.target: tuple[float, float] | None = None
        self.last_paint_s = 0.0  # duration of the last paintEvent (the GUI benchmark reads it)
        self.drawn_gaze: tuple[float, float] | None = None  # what the last paint showed

    # -- setters (the run page calls these from model changes) ----------------------------------
    def set_trial(self, layout: TrialLayout | None, image: QImage | None, title: str = "") -> None:
        self.layout_, self.image, self.title = layout, image, title
        if layout is not None:
            self.screen_px = layout.screen_px
        self.trail, self.highlight = [], -1
        self.update()

    def set_screen(self, screen: str, target: tuple[float, float] | None = None) -> None:
        """Draw what the participant sees: the stimulus, the fixation cross, a validation target or nothing."""
        self.screen, self.target = screen, target
        self.update()

    def set_trail(self, trail: list[tuple[float, float, float, int]]) -> None:
        self.trail = list(trail)
        self.update()

    def set_raw(self, points: list[tuple[float, float]]) -> None:
        self.raw = points
        self.update()

    def set_gaze(self, gaze: tuple[float, float] | None, highlight: int) -> None:
        self.gaze, self.highlight = gaze, highlight
        self.update()

    # -- drawing --------------------------------------------------------------------------------
    def screen_rect(self) -> QRectF:
        """Where the participant screen sits in the widget (aspect kept, centred)."""
        sw, sh = self.screen_px
        scale = min(self.width() / sw, self.height() / sh)
        w, h = sw * scale, sh * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_widget(self, x: float, y: float) -> QPointF:
        r = self.screen_rect()
        s = r.width() / self.screen_px[0]
        return QPointF(r.x() + x * s, r.y() + y * s)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        t0 = time.perf_counter()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#303030"))
        r = self.screen_rect()
        s = r.width() / self.screen_px[0]
        p.fillRect(r, BACKGROUND)
        lay = self.layout_
        if self.screen != "stimulus":
            self._draw_non_stimulus(p, r, s)
        elif lay is None:
            p.setPen(QColor("white"))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self.title or "waiting for the first trial")
        else:
            x0, y0, x1, y1 = lay.image_rect
            target = QRectF(self.to_widget(x0, y0), self.to_widget(x1, y1))
            if self.image is not None:
                p.drawImage(target, self.image)
            else:
                p.fillRect(target, QColor("#505050"))
            if lay.words:
                font = QFont("DejaVu Sans")
                b = lay.words[0].box
                font.setPixelSize(max(6, int((b[3] - b[1]) * s * 0.78)))
                p.setFont(font)
                p.setPen(QColor("white"))
                for w in lay.words:
                    p.drawText(QRectF(self.to_widget(w.box[0], w.box[1]), self.to_widget(w.box[2], w.box[3])),
                               Qt.AlignmentFlag.AlignCenter, w.text)
            for i, aoi in enumerate(lay.aois):
                poly = QPolygonF([self.to_widget(px, py) for px, py in aoi.polygon])
                if i == self.highlight:
                    p.setPen(QPen(QColor(255, 200, 0), 2))
                    p.setBrush(HIGHLIGHT)
                else:
                    p.setPen(QPen(AOI_PEN, 1))
                    p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPolygon(poly)
        if self.raw:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(RAW)
            for x, y in self.raw:
                p.drawEllipse(self.to_widget(x, y), 1.5, 1.5)
        if self.screen == "stimulus":
            self._draw_trail(p, s)
        if self.gaze is not None and all(math.isfinite(v) for v in self.gaze):
            c = self.to_widget(*self.gaze)
            p.setPen(QPen(QColor("white"), 2))
            p.setBrush(GAZE)
            p.drawEllipse(c, 7, 7)
        self.drawn_gaze = self.gaze
        p.end()
        self.last_paint_s = time.perf_counter() - t0

    def _draw_non_stimulus(self, p: QPainter, r: QRectF, s: float) -> None:
        """The fixation cross at the screen centre, a validation target, or the blank screen."""
        p.setPen(QPen(QColor("white"), max(1.0, 4 * s)))
        if self.screen == "fixation_cross":
            c = self.to_widget(self.screen_px[0] / 2, self.screen_px[1] / 2)
            arm = 20 * s
            p.drawLine(QPointF(c.x() - arm, c.y()), QPointF(c.x() + arm, c.y()))
            p.drawLine(QPointF(c.x(), c.y() - arm), QPointF(c.x(), c.y() + arm))
        elif self.screen == "validation_target" and self.target is not None:
            c = self.to_widget(*self.target)
            p.setBrush(QColor("white"))
            p.drawEllipse(c, max(3.0, 15 * s), max(3.0, 15 * s))
            p.setBrush(QColor("black"))
            p.drawEllipse(c, max(1.0, 4 * s), max(1.0, 4 * s))

    def _draw_trail(self, p: QPainter, s: float) -> None:
        if not self.trail:
            return
        pts = [self.to_widget(x, y) for x, y, _, _ in self.trail]
        p.setPen(QPen(TRAIL, 2))
        for a, b in zip(pts, pts[1:], strict=False):
            p.drawLine(a, b)
        font = QFont("DejaVu Sans")
        font.setPixelSize(11)
        p.setFont(font)
        for k, (pt, (_, _, dur, _)) in enumerate(zip(pts, self.trail, strict=True)):
            radius = max(4.0, min(30.0, 22.0 * math.sqrt(max(dur, 0.0) / 0.2) * s))  # area ~ duration
            p.setPen(QPen(TRAIL, 1.5))
            p.setBrush(QColor(0, 160, 255, 60))
            p.drawEllipse(pt, radius, radius)
            p.setPen(QColor("white"))
            p.drawText(QRectF(pt.x() - 10, pt.y() - 8, 20, 16), Qt.AlignmentFlag.AlignCenter, str(k + 1))
