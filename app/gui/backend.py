"""What the operator window needs from the rest of POV Lab, as plain interfaces.

The window never builds a session, opens an LSL stream or writes a bundle itself: the entry
layer (``app.commands.gui``) hands it a :class:`Backend` of callables that do. This keeps
``app.gui`` free of pylsl and PsychoPy (an import-linter contract), and lets the widget tests
drive the window with a fake backend and synthetic session events.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.core.errors import PovLabError

_LABEL = re.compile(r"[A-Za-z0-9]{1,64}\Z")


@dataclass(frozen=True)
class SetupChoice:
    """Everything the set-up page decides; validated here so a bad label never reaches the session."""

    protocol_path: Path
    participant: str
    session: str = "01"
    tracker: str = "sim"  # sim | lsl:NAME | lsl-id:SOURCE_ID | replay:FILE
    out: Path = Path("sessions")
    model: Path | None = None
    sim_rate_hz: float = 1000.0
    duration_s: float | None = None
    seed: int | None = None
    presenter: str = "headless"  # headless (timed, simulated participant) | psychopy (participant screen)
    tracker_timeout_s: float = 5.0  # how long to wait for the tracker's (and the session's own) streams

    def __post_init__(self) -> None:
        if self.presenter not in ("headless", "psychopy"):
            raise PovLabError(f"participant screen {self.presenter!r}: expected headless or psychopy")
        for key in ("participant", "session"):
            value = getattr(self, key)
            if not _LABEL.match(value):
                raise PovLabError(f"{key} label {value!r}: expected letters and digits only (BIDS labels)")
        if not str(self.out).strip():
            raise PovLabError("output folder: expected a folder path, got nothing")
        if self.duration_s is not None and not self.duration_s > 0:
            raise PovLabError(f"duration must be positive, got {self.duration_s}")


@dataclass(frozen=True)
class TrackerChoice:
    """One entry of the tracker picker: a discovered LSL gaze stream (or the simulator)."""

    label: str  # what the picker shows
    tracker: str  # a tracker spec (app.acquisition.tracker_spec), parsed by the entry layer
    rate_hz: float  # nominal rate, 0 for irregular
    n_channels: int
    ok: bool  # rate and channels usable for gaze
    note: str  # why not, or the channel layout found


class GazeCounters(Protocol):
    received: int
    lost: int
    stalled: bool


class GazeSource(Protocol):
    """The acquisition of a running session: a ring buffer the window polls, and its counters."""

    @property
    def buffer(self) -> Any: ...  # app.core.gaze.GazeRingBuffer

    @property
    def counters(self) -> GazeCounters: ...


class RunningSession(Protocol):
    """A prepared session: ``run()`` blocks (the window calls it on a worker thread)."""

    def run(self) -> Any: ...

    def request_stop(self) -> None: ...

    def close(self) -> None: ...

    def gaze_source(self) -> GazeSource | None: ...

    # optional: ``toggle_pause()`` where the participant screen can pause between trials (PsychoPy)


class RemoteServer(Protocol):
    """A running remote-control server (LabRecorder's protocol); ``close()`` stops it and its recording."""

    @property
    def port(self) -> int: ...

    def close(self) -> None: ...


Listener = Callable[[object], None]
Progress = Callable[[float, str], None]  # fraction 0..1, what is being done


@dataclass(frozen=True)
class Backend:
    # prepare a session (checks protocol, model and tracker; raises PovLabError) with this listener
    start_session: Callable[[SetupChoice, Listener], RunningSession]
    # gaze streams visible on LSL within the timeout, the simulator first
    list_trackers: Callable[[float], list[TrackerChoice]]
    # bundle + BIDS export of a session folder; returns a one-line report. None: not available.
    export_session: Callable[[Path, Progress], str] | None = None
    # write an AOI document back into its protocol file (keeping the rest of the file); returns the path
    save_aois: Callable[[Any], Path] | None = None
    # a LabRecorder remote-control server on 127.0.0.1:port recording into the folder; raises PovLabError.
    # None: not available.
    remote_control: Callable[[int, Path], RemoteServer] | None = None
    # read a recorded run (XDF or session folder) for the review page (app.runfolder.review.SessionReview)
    load_review: Callable[[Path], Any] | None = None
    # where a study folder stands (app.study.status.StudyStatus); raises PovLabError
    study_status: Callable[[Path], Any] | None = None
    # recover the crashed runs of a session folder; returns a one-line report
    recover_session: Callable[[Path], str] | None = None
    # cross-validate and train on a study in a worker process: (study, progress, cancel event) -> figures;
    # raises PovLabError (also when cancelled). None: training is not available (no torch / no checkout).
    train_study: Callable[[Path, Progress, Any], dict[str, Any]] | None = None
    # the models trained on a study, newest first (app.study.trained_models.TrainedModel)
    study_models: Callable[[Path], list[Any]] | None = None
