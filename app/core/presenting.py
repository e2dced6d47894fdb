"""What a presenter is, to the session: the interface both presenters implement.

- :class:`HeadlessPresenter` (``app/presentation/headless.py``): no window, trials advance by time.
- the PsychoPy presenter (``app/presentation``): a window in its own process.

A presenter shows the protocol's trials in order (practice first), pushes every marker of
the vocabulary in :mod:`app.core.markers` to the ``MarkerSink`` with the LSL time stamp of
the flip that showed it, and reports each finished trial as a :class:`TrialOutcome`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

from app.core.answers import RESPONSES
from app.core.protocol import Protocol


@dataclass(frozen=True)
class TrialOutcome:
    number: int  # 1-based, practice trials first
    trial_id: str
    practice: bool
    stim_onset: float  # LSL seconds (flip time)
    stim_offset: float  # LSL seconds (flip time)
    response: str  # one of app.core.answers.RESPONSES: yes | no | unclear | timeout
    rt_s: float | None  # from stim_onset; None on timeout

    def __post_init__(self) -> None:
        if self.response not in RESPONSES:
            raise ValueError(f"trial outcome: unknown response {self.response!r}")
        if self.stim_offset < self.stim_onset:
            raise ValueError("trial outcome: offset before onset")


class MarkerSink(TypingProtocol):
    def push(self, marker: str, timestamp: float) -> None:
        """Publish one marker string stamped with ``timestamp`` (LSL clock seconds)."""

    def clock(self) -> float:
        """The LSL clock now (``pylsl.local_clock()``)."""


class Presenter(TypingProtocol):
    def run(self, protocol: Protocol, markers: MarkerSink, stop: threading.Event,
            on_trial: Callable[[TrialOutcome], None]) -> list[TrialOutcome]:
        """Show every trial; return when done or when ``stop`` is set (then send ``ABORT``)."""
