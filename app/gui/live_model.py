"""The operator window's state, as a pure-Python model (no Qt).

Session events (``app.session.updates``) and the gaze poller change the model; the model tells
its subscribers *what* changed (a short topic string) and widgets read what they show from it.
This is napari's split: the model emits, widgets only listen and set; tests change the model and
assert what a widget shows.

Topics: ``session`` (started/ended), ``trial`` (a new trial on screen), ``fixation``,
``prediction``, ``answer``, ``banners``, ``gaze`` (newest gaze sample and the AOI under it),
``quality`` (rate, loss, validation result).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.answers import ANSWERS, RESPONSES
from app.core.aoi import map_points
from app.core.geometry import ScreenGeometry
from app.core.layout import TrialLayout
from app.core.run_metadata import SessionStatus
from app.session.updates import (
    FixationMapped,
    PersonalisationUpdated,
    PredictionUpdated,
    ScreenShown,
    SessionEnded,
    SessionStarted,
    SessionWarning,
    TrialFinished,
    TrialStarted,
    ValidationMeasured,
)

# banner kinds that stay until cleared, most serious first
BANNER_ORDER = ("disk_full", "stream_lost", "recorder", "no_gaze", "bad_timestamps", "off_screen", "stream_changed",
                "disk_low", "samples_lost", "stream_back", "error")


@dataclass
class TrialView:
    """What the window knows about one trial."""

    number: int
    trial_id: str
    practice: bool
    layout: TrialLayout
    image: Path
    fixations: list[tuple[float, float, float, int]] = field(default_factory=list)  # x, y, duration s, aoi
    probs_history: list[tuple[float, float, float]] = field(default_factory=list)
    answer: str | None = None  # yes | no | unclear | timeout
    predicted: str | None = None

    @property
    def probs(self) -> tuple[float, float, float] | None:
        return self.probs_history[-1] if self.probs_history else None

    @property
    def agrees(self) -> bool | None:
        if self.predicted is None or self.answer not in ANSWERS:
            return None
        return self.predicted == self.answer


class LiveModel:
    def __init__(self, geometry: ScreenGeometry | None = None, trail_length: int = 12) -> None:
        self.geometry = geometry
        self.trail_length = trail_length
        self._subscribers: list[Callable[[str], None]] = []
        self.reset()

    def reset(self) -> None:
        self.screen = "stimulus"  # what the participant screen shows: see app.session.updates.ScreenShown
        self.target: tuple[float, float] | None = None
        self.folder: Path | None = None
        self.xdf: Path | None = None
        self.n_trials = 0
        self.tracker = ""
        self.provider: str | None = None
        self.trials: dict[int, TrialView] = {}
        self.current: int | None = None
        self.done = 0
        self.agreement: float | None = None
        self.banners: dict[str, str] = {}
        self.ended: SessionEnded | None = None
        self.gaze: tuple[float, float, float] | None = None  # t, x, y of the newest valid sample
        self.gaze_aoi = -1
        self.rate_hz: float | None = None
        self.nominal_rate_hz: float | None = None
        self.received = 0
        self.lost = 0
        self.validation: str | None = None
        self.failure: str | None = None  # why the session stopped with an error
        self.refused: str | None = None  # why the session could not start (nothing was recorded)
        self.personalisation: tuple[int, tuple[float, float, float]] | None = None  # answered trials, bias

    # -- subscriptions --------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._subscribers.append(callback)

    def _notify(self, topic: str) -> None:
        for cb in list(self._subscribers):
            cb(topic)

    # -- derived ----------------------------------------------------------------------------------
    @property
    def trial(self) -> TrialView | None:
        return None if self.current is None else self.trials.get(self.current)

    @property
    def loss_fraction(self) -> float | None:
        total = self.received + self.lost
        return None if total == 0 else self.lost / total

    def trail(self) -> list[tuple[float, float, float, int]]:
        t = self.trial
        return [] if t is None else t.fixations[-self.trail_length:]

    # -- session events ---------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        """Apply one session event (in the GUI thread) and notify subscribers."""
        if isinstance(event, SessionStarted):
            self.reset()
            self.folder, self.xdf, self.n_trials = event.folder, event.xdf, event.n_trials
            self.tracker, self.provider = event.tracker, event.provider
            self._notify("session")
        elif isinstance(event, TrialStarted):
            self.trials[event.number] = TrialView(event.number, event.trial_id, event.practice, event.layout,
                                                  event.image)
            self.current = event.number
            self.gaze_aoi = -1
            self._notify("trial")
        elif isinstance(event, ScreenShown):
            self.screen, self.target = event.screen, event.target
            self._notify("screen")
        elif isinstance(event, FixationMapped):
            t = self.trials.get(event.number)
            if t is not None:
                ev = event.fixation
                t.fixations.append((float(ev.x), float(ev.y), float(ev.duration), int(event.aoi_index)))
                self._notify("fixation")
        elif isinstance(event, PredictionUpdated):
            t = self.trials.get(event.number)
            if t is not None:
                t.probs_history.append(tuple(float(p) for p in event.probs))  # type: ignore[arg-type]
                self._notify("prediction")
        elif isinstance(event, TrialFinished):
            o = event.outcome
            t = self.trials.get(o.number)
            if t is not None:
                t.answer, t.predicted = o.response, event.predicted
            self.done = max(self.done, o.number)
            self.agreement = event.agreement
            self._notify("answer")
        elif isinstance(event, PersonalisationUpdated):
            self.personalisation = (event.n_trials, event.bias)
            self._notify("personalisation")
        elif isinstance(event, SessionWarning):
            self.warn(event.kind, event.message)
        elif isinstance(event, ValidationMeasured):
            self.validation = event.summary.removeprefix("validation ")
            self._notify("quality")
        elif isinstance(event, SessionEnded):
            self.ended = event
            self.folder = event.folder
            if event.status in (SessionStatus.DISK_FULL, SessionStatus.FAILED):
                self.banners[event.status if event.status is SessionStatus.DISK_FULL else "error"] = \
                    f"session {event.status}: data up to now is kept in {event.folder}"
                self._notify("banners")
            self._notify("session")

    def warn(self, kind: str, message: str) -> None:
        if kind == "stream_back":
            self.banners.pop("stream_lost", None)
        elif kind == "stream_lost":
            self.banners.pop("stream_back", None)
        self.banners[kind] = message
        self._notify("banners")

    def dismiss(self, kind: str) -> None:
        if self.banners.pop(kind, None) is not None:
            self._notify("banners")

    def fail(self, message: str) -> None:
        """The session stopped with an error (a banner; the end page shows it and the status ``failed``)."""
        self.failure = message
        self.warn("error", message)

    def not_started(self, reason: str) -> None:
        """The session could not be prepared: nothing was recorded (status ``not started``)."""
        self.refused = reason
        self._notify("session")

    # -- from the gaze poller --------------------------------------------------------------------
    def set_gaze(self, t: float, x: float, y: float) -> None:
        self.gaze = (t, x, y)
        trial = self.trial
        aoi = -1
        if trial is not None and self.geometry is not None and trial.layout.aois:
            aoi = int(map_points(np.array([x]), np.array([y]), trial.layout.aois, self.geometry, 0.5)[0])
        self.gaze_aoi = aoi
        self._notify("gaze")

    def set_quality(self, rate_hz: float | None, received: int, lost: int, nominal_rate_hz: float | None = None,
                    validation: str | None = None) -> None:
        before = self.lost
        self.rate_hz, self.received, self.lost = rate_hz, received, lost
        if nominal_rate_hz is not None:
            self.nominal_rate_hz = nominal_rate_hz
        if validation is not None:
            self.validation = validation
        if lost > before:
            share = self.loss_fraction or 0.0
            self.warn("samples_lost", f"{lost} gaze samples dropped so far ({share:.2%} of the stream)")
        self._notify("quality")

    @property
    def status(self) -> str:
        """What the operator reads: the session's own status, else failed / not started / recording."""
        if self.ended is not None:
            return self.ended.status.value
        if self.failure is not None:
            return SessionStatus.FAILED.value
        return "not started" if self.refused is not None else SessionStatus.RECORDING.value

    def summary_rows(self) -> list[tuple[str, str]]:
        """The end-of-session summary as (label, value) rows."""
        meta = self.ended.meta if self.ended is not None else None
        answered = [t for t in self.trials.values() if t.answer is not None]
        main = [t for t in answered if not t.practice]
        agree = [t.agrees for t in main if t.agrees is not None]
        counters = meta.counters if meta is not None else None
        received, lost = (self.received, self.lost) if counters is None else (counters.received, counters.lost)
        loss = f"{lost / (received + lost):.2%}" if received + lost else "n/a"
        agreement = meta.agreement if meta is not None and meta.n_trials_done is not None else self.agreement
        n_fixations = meta.n_fixations if meta is not None else None
        return [
            ("status", self.status),
            ("trials", f"{len(answered)} of {self.n_trials} ({len(main)} main, {len(answered) - len(main)} practice)"),
            ("answers", ", ".join(f"{a} {sum(t.answer == a for t in answered)}" for a in RESPONSES)),
            ("gaze samples", f"{received} received, {lost} lost ({loss})"),
            ("fixations", str(sum(len(t.fixations) for t in self.trials.values()) if n_fixations is None
                              else n_fixations)),
            ("validation", self.validation or "not run"),
            ("model agreement", "n/a" if agreement is None else f"{agreement:.0%} ({sum(agree)} of {len(agree)})"),
            ("folder", str(self.folder or "")),
        ] + ([("error", self.failure)] if self.failure is not None else [])
