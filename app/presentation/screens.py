"""What the participant screen draws, with PsychoPy (used in the child process only).

Coordinates: POV Lab's screen pixels have their origin at the top-left, y down; PsychoPy's
``pix`` units have it at the centre, y up; :meth:`Screens.to_psychopy` converts. The stimulus
is one full-screen texture composed by :mod:`app.presentation.compose`, drawn without
interpolation so each texel lands on one screen pixel.
"""

from __future__ import annotations

from typing import Any

from app.core.layout import TrialLayout
from app.core.protocol import Protocol, Trial
from app.presentation.compose import compose_stimulus


class Screens:
    """The stimuli of one window: text, fixation cross, validation target, trial picture."""

    def __init__(self, win: Any, protocol: Protocol) -> None:
        from psychopy import visual

        self.visual = visual
        self.win = win
        self.protocol = protocol
        self.w, self.h = protocol.screen.width_px, protocol.screen.height_px
        d = protocol.display
        size = protocol.style.font_size_px
        self.text = visual.TextStim(
            win, text="", font="DejaVu Sans", fontFiles=[str(protocol.style.font)], height=size * 0.8,
            color=d.text_color, colorSpace="hex", units="pix", wrapWidth=min(self.w * 0.8, 1600),
            alignText="left", anchorHoriz="center", anchorVert="center")
        arm, thick = max(8.0, size * 0.5), max(2.0, size * 0.08)
        self.cross = [visual.Rect(win, width=2 * arm, height=thick, units="pix", fillColor=d.text_color,
                                  lineColor=None, colorSpace="hex"),
                      visual.Rect(win, width=thick, height=2 * arm, units="pix", fillColor=d.text_color,
                                  lineColor=None, colorSpace="hex")]
        radius = max(8.0, size * 0.3)
        self.target = [visual.Circle(win, radius=radius, units="pix", fillColor=d.text_color, lineColor=None,
                                     colorSpace="hex", edges=64),
                       visual.Circle(win, radius=radius / 4, units="pix", fillColor=d.background,
                                     lineColor=None, colorSpace="hex", edges=32)]
        self.picture: Any = None

    def to_psychopy(self, x: float, y: float) -> tuple[float, float]:
        return x - self.w / 2, self.h / 2 - y

    def draw_text(self, text: str) -> None:
        self.text.text = text
        self.text.draw()

    def draw_cross(self) -> None:
        for part in self.cross:
            part.draw()

    def draw_target(self, x: float, y: float) -> None:
        for part in self.target:
            part.pos = self.to_psychopy(x, y)
            part.draw()

    def prepare_stimulus(self, trial: Trial, layout: TrialLayout) -> None:
        """Compose the trial's picture and upload it (done during the fixation cross)."""
        picture = compose_stimulus(self.protocol, trial, layout)
        self.picture = self.visual.ImageStim(self.win, image=picture, units="pix", size=(self.w, self.h),
                                             pos=(0, 0), interpolate=False)

    def draw_stimulus(self) -> None:
        self.picture.draw()
