"""Typed messages between the session (parent) and the participant screen (child process).

They travel over a ``multiprocessing`` pipe of the ``spawn`` context, so each is a small,
picklable, frozen dataclass. The parent sends :class:`Begin` once the child reported
:class:`Ready` (the window is open), and :class:`Abort` when the operator stops the session;
:class:`TogglePause` for the operator's pause button;
the child answers with :class:`Flipped` for every screen change that carries markers,
:class:`TrialDone` after each trial, and finally :class:`Finished` (or :class:`Failed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import PresentationError
from app.core.presenting import TrialOutcome


@dataclass(frozen=True)
class PresenterOptions:
    """How the participant screen runs (the protocol says what it shows).

    ``windowed``: None keeps the protocol's ``screen.fullscreen``; True forces a window of the
    protocol's size (demos, tests). ``simulate_participant``: answer trials automatically after
    a lognormal delay with median ``sim_rt_median_s``. ``frames_dir``: save the first frame of
    each kind of screen as PNG (tests, documentation).
    """

    windowed: bool | None = None
    simulate_participant: bool = False
    validation: bool = True
    target_s: float = 1.5  # how long each validation target stays on screen
    validation_intro_s: float = 2.0
    sim_rt_median_s: float = 2.2
    sim_seed: int | None = None
    display: str | None = None  # X display for the window (default: $DISPLAY)
    frames_dir: Path | None = None
    ready_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("target_s", "sim_rt_median_s", "ready_timeout_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise PresentationError(f"presenter options: {name} must be a number > 0, got {v!r}")
        if not (math.isfinite(self.validation_intro_s) and self.validation_intro_s >= 0):
            raise PresentationError("presenter options: validation_intro_s must be >= 0")


# parent -> child
@dataclass(frozen=True)
class Begin:
    """Show the protocol, or only the validation of the calibration (``validation_only``).

    The child opened its window and waits for this; after a validation-only run it waits for
    the next :class:`Begin` (validation is repeatable), after a full run it closes.
    """

    validation_only: bool = False


@dataclass(frozen=True)
class TogglePause:
    """The operator's pause button: same as the pause key (pause after this trial, or resume)."""


@dataclass(frozen=True)
class Abort:
    """The operator stopped the session: send ``ABORT`` at the next flip and exit."""


# child -> parent
@dataclass(frozen=True)
class Ready:
    width_px: int
    height_px: int
    refresh_hz: float | None  # measured from flips at start; None when too irregular to tell


@dataclass(frozen=True)
class Flipped:
    """Markers shown by one flip.

    ``timestamp``: the flip time on the LSL clock (PsychoPy's flip time plus the offset
    between the two clocks measured right after the flip); ``lsl_after_flip``: the LSL clock
    read when ``flip()`` had returned (for the benchmark); ``kind``: the screen shown.
    """

    markers: tuple[str, ...]
    timestamp: float
    lsl_after_flip: float
    kind: str


@dataclass(frozen=True)
class TrialDone:
    outcome: TrialOutcome


@dataclass(frozen=True)
class Finished:
    aborted: bool


@dataclass(frozen=True)
class Failed:
    """The child could not go on; ``message`` is one line for the operator."""

    message: str
