"""What a session is asked to do (:class:`SessionConfig`, checked when it is made) and what it leaves
(:class:`SessionResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import PovLabError, TrackerError
from app.core.paths import BUNDLED_MODEL
from app.core.presenting import TrialOutcome
from app.core.run_metadata import RunMetadata, SessionStatus
from app.runfolder.files import RunFiles, check_label

MAX_DURATION_S = 86_400.0  # --duration inf reached threading.Timer (an OverflowError in its thread)
MAX_TRACKER_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class SessionConfig:
    protocol_path: Path
    participant: str
    session: str = "01"
    task: str = "pov"
    out: Path = Path("sessions")
    duration_s: float | None = None  # stop after this long (the demo's --duration)
    model: Path | None = BUNDLED_MODEL  # None: no live predictions
    tracker_timeout_s: float = 5.0  # for the session's own streams to appear on LSL
    channels: str | None = None  # explicit channel mapping for undescribed streams
    preset: str | None = None
    detection: str = "nh"  # the default detector (app.detection.pipeline.DEFAULT_METHOD), online form
    plots: bool = True  # write each trial's scanpath and heatmap into the run folder's plots/ at the end

    def __post_init__(self) -> None:
        if not 0 < self.tracker_timeout_s <= MAX_TRACKER_TIMEOUT_S:  # also false for NaN
            raise TrackerError(f"tracker timeout must be > 0 s and at most {MAX_TRACKER_TIMEOUT_S:g} s, "
                               f"got {self.tracker_timeout_s}")
        for kind, label in (("participant", self.participant), ("session", self.session), ("task", self.task)):
            check_label(kind, label)
        if self.duration_s is not None and not 0 < self.duration_s <= MAX_DURATION_S:
            raise PovLabError(f"--duration must be above 0 and at most {MAX_DURATION_S:g} s (a day), "
                              f"got {self.duration_s}")


@dataclass
class SessionResult:
    folder: Path
    files: RunFiles
    status: SessionStatus
    meta: RunMetadata  # as written into session.json at the end
    outcomes: list[TrialOutcome] = field(default_factory=list)
