"""The :class:`~app.core.presenting.MarkerSink` a session hands its presenter.

Each marker goes out on the markers outlet (so the recording has it), is kept in :attr:`SessionMarkers.log`
(the validation reads it), tells the live pipeline which trial is on screen, and becomes the events the
operator window draws: the screen the participant sees (:class:`ScreenShown`) and the trial that started
(:class:`TrialStarted`). ``VALIDATION_END`` calls ``on_validation_end`` (the session measures the validation).
"""

from __future__ import annotations

from collections.abc import Callable

from app.core.markers import parse_marker
from app.core.ports import SessionOutlet
from app.session.live import LivePipeline
from app.session.updates import ScreenShown, SessionEvent, TrialStarted

# markers that change what the participant screen shows -> the screen the operator window draws
SCREENS = {"FIXCROSS_ONSET": "fixation_cross", "STIM_ONSET": "stimulus", "STIM_OFFSET": "blank",
           "VALIDATION_END": "blank"}


class SessionMarkers:
    def __init__(self, outlet: SessionOutlet, live: LivePipeline, emit: Callable[[SessionEvent], None],
                 clock: Callable[[], float], on_validation_end: Callable[[], None]) -> None:
        self.outlet = outlet
        self.live = live
        self.emit = emit
        self._clock = clock
        self.on_validation_end = on_validation_end
        self.log: list[tuple[float, str]] = []

    def push(self, marker: str, timestamp: float) -> None:
        self.outlet.push(marker, timestamp=timestamp)
        self.log.append((timestamp, marker))
        self._route(marker, timestamp)

    def clock(self) -> float:
        return float(self._clock())

    def _route(self, marker: str, timestamp: float) -> None:
        live = self.live
        live.on_marker(marker, timestamp)
        m = parse_marker(marker)
        current = max(live.states, default=0)
        if m.kind in SCREENS:
            self.emit(ScreenShown(0 if m.kind.startswith("VALIDATION") else current, SCREENS[m.kind]))
        elif m.kind == "VALIDATION_TARGET":
            self.emit(ScreenShown(0, "validation_target", (float(m.args[1]), float(m.args[2]))))
        elif m.kind == "TRIALID" and m.args and m.args[0].isdigit() and int(m.args[0]) in live.states:
            n = int(m.args[0])
            trial = live.trials[n]
            self.emit(TrialStarted(n, trial.trial_id, trial.practice, live.states[n].layout, trial.image))
        if m.kind == "VALIDATION_END":
            self.on_validation_end()
