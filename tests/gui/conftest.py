"""Operator-window tests: the demo protocol, its first trials' layouts, and session events built by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.gaze_events import GazeEvent
from app.core.layout import TrialLayout, layout_trial
from app.core.paths import DEMO_PROTOCOL
from app.core.presenting import TrialOutcome
from app.core.protocol import Protocol, load_protocol
from app.session.updates import (
    FixationMapped,
    PredictionUpdated,
    SessionStarted,
    TrialFinished,
    TrialStarted,
)


@pytest.fixture(scope="session")
def demo() -> Protocol:
    return load_protocol(DEMO_PROTOCOL)


@pytest.fixture(scope="session")
def layouts(demo: Protocol) -> list[TrialLayout]:
    return [layout_trial(demo, t) for t in demo.all_trials]


def fixation(x: float, y: float, onset: float = 1.0, duration: float = 0.25) -> GazeEvent:
    return GazeEvent("fixation", onset, onset + duration, duration, x, y, float("nan"), float("nan"))


def started(demo: Protocol, folder: Path = Path("/tmp/povlab-gui-test")) -> SessionStarted:
    return SessionStarted(folder, folder / "sub-T_ses-01_task-pov_run-001.xdf", len(demo.all_trials), "SimTracker",
                          "CPUExecutionProvider")


def trial_started(demo: Protocol, layouts: list[TrialLayout], number: int) -> TrialStarted:
    t = demo.all_trials[number - 1]
    return TrialStarted(number, t.trial_id, t.practice, layouts[number - 1], t.image)


def prediction(number: int, trial_id: str, probs: tuple[float, float, float], n: int = 1) -> PredictionUpdated:
    return PredictionUpdated(number, trial_id, probs, n)


def finished(number: int, trial_id: str, answer: str, predicted: str | None, agreement: float | None,
             practice: bool = False) -> TrialFinished:
    return TrialFinished(TrialOutcome(number, trial_id, practice, 10.0, 12.0, answer, 2.0), predicted, agreement)


def mapped(number: int, x: float, y: float, aoi: int, duration: float = 0.25) -> FixationMapped:
    return FixationMapped(number, fixation(x, y, duration=duration), aoi)
