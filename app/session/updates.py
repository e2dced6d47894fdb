"""What a running session tells its listeners (the GUI, the CLI's progress line, tests).

Plain frozen dataclasses, emitted from the session's threads; a listener must not block.
The GUI bridges them into its own thread (napari-style: the model emits, widgets listen).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.gaze_events import GazeEvent
from app.core.layout import TrialLayout
from app.core.presenting import TrialOutcome
from app.core.run_metadata import RunMetadata, SessionStatus
from app.runfolder.plots import TrialPlots


@dataclass(frozen=True)
class SessionStarted:
    folder: Path
    xdf: Path
    n_trials: int
    tracker: str
    provider: str | None  # ONNX Runtime provider of the live model, None without a model


@dataclass(frozen=True)
class TrialStarted:
    number: int
    trial_id: str
    practice: bool
    layout: TrialLayout
    image: Path


@dataclass(frozen=True)
class ScreenShown:
    """What the participant screen shows now (from the presenter's flip-stamped markers)."""

    number: int  # trial number, 0 outside trials (validation)
    screen: str  # validation_target | fixation_cross | stimulus | blank
    target: tuple[float, float] | None = None  # screen px of a validation target


@dataclass(frozen=True)
class FixationMapped:
    number: int  # trial number, 0 between trials
    fixation: GazeEvent
    aoi_index: int  # index into the trial layout's aois, -1 off every AOI


@dataclass(frozen=True)
class PredictionUpdated:
    number: int
    trial_id: str
    probs: tuple[float, float, float]  # yes, no, unclear
    n_fixations: int


@dataclass(frozen=True)
class TrialFinished:
    outcome: TrialOutcome
    predicted: str | None  # yes | no | unclear, the final live prediction
    agreement: float | None  # running share of answered trials where prediction == answer


@dataclass(frozen=True)
class PersonalisationUpdated:
    """The participant's logit bias was refitted from every trial they have answered so far."""

    participant: str
    n_trials: int  # answered trials the bias was fitted on (timeouts teach nothing and are left out)
    bias: tuple[float, float, float]  # added to the model's yes, no, unclear logits


@dataclass(frozen=True)
class ValidationMeasured:
    """Accuracy and precision around the validation targets (app.core.validation), as a dict."""

    figures: dict[str, Any]
    summary: str  # one line for the operator, e.g. "GOOD: mean 0.31 deg, max 0.62 deg, ..."


@dataclass(frozen=True)
class SessionWarning:
    kind: str  # stream_lost | stream_back | stream_changed | samples_lost | disk_low | disk_full | recorder |
    # no_gaze | bad_timestamps | off_screen (gaze quality, app.core.gaze_quality) | irregular_rate
    message: str


@dataclass(frozen=True)
class SessionEnded:
    folder: Path
    status: SessionStatus  # complete | aborted | disk_full | failed
    meta: RunMetadata  # what session.json says now: counters, trials done, agreement, fixations
    plots: tuple[TrialPlots, ...] = ()  # scanpath and heatmap of each trial, in the run folder's plots/
    plots_note: str = ""  # where the plots are, or why there are none


SessionEvent = SessionStarted | TrialStarted | ScreenShown | FixationMapped | PredictionUpdated | TrialFinished | \
    PersonalisationUpdated | ValidationMeasured | SessionWarning | SessionEnded
