"""Names and channel layouts of the LSL streams POV Lab publishes and records.

Every stream a session produces is recorded into the one XDF of the run, beside the
tracker's own gaze stream (recorded as the tracker publishes it).
"""

from __future__ import annotations

from dataclasses import dataclass

# The stream type of gaze in the XDF Gaze Meta-Data convention (trackers' LSL apps use it, or "Eyetracker").
GAZE_TYPE = "Gaze"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    type: str
    channels: tuple[str, ...]
    channel_format: str  # pylsl format name: "float32", "double64", "string"
    units: tuple[str, ...] = ()


MARKERS = StreamSpec("PovLab-Markers", "Markers", ("marker",), "string")

# One sample per detected fixation, stamped at the fixation's END (when it became known).
FIXATIONS = StreamSpec(
    "PovLab-Fixations", "Fixations",
    ("onset", "duration", "x", "y", "trial_number", "aoi_index"),
    "double64",
    ("s", "s", "px", "px", "n", "n"),  # onset in LSL s; aoi_index -1 = off, else 1-based as in !V IAREA
)

# One sample each time the live prediction of the current trial changes.
PREDICTIONS = StreamSpec(
    "PovLab-Predictions", "Predictions",
    ("trial_number", "p_yes", "p_no", "p_unclear", "n_fixations"),
    "double64",
)

# The simulated tracker's outlet (a real tracker keeps its own name).
SIM_GAZE = StreamSpec(
    "PovLab-SimTracker", GAZE_TYPE,
    ("left_x", "left_y", "right_x", "right_y", "left_pupil", "right_pupil"),
    "double64",
    ("pixels", "pixels", "pixels", "pixels", "mm", "mm"),
)
