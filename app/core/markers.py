"""The markers vocabulary: EyeLink-style messages that existing tools already parse.

Every screen change of a trial is one string sample on the ``Markers`` LSL stream, time
stamped (LSL clock) at the flip that showed it:

==============================================  =========================================
``SESSION_START <protocol name>``               first marker of a session
``DISPLAY_COORDS 0 0 <width-1> <height-1>``     the participant screen in pixels (EyeLink's message)
``TRIALID <n>``                                 a trial begins (n counts from 1, practice first)
``!V TRIAL_VAR <name> <value>``                 trial_id, practice, image, caption, expected
``!V IAREA RECTANGLE <k> <x0> <y0> <x1> <y1> <name>``  one box AOI in screen pixels (EyeLink Data Viewer)
``!V IAREA FREEHAND <k> <x,y> <x,y> ... <name>``       one polygon AOI
``!V IMGLOAD TOP_LEFT <file> <x> <y> <w> <h>``  where the stimulus image is drawn (screen px, EyeLink Data Viewer)
``FIXCROSS_ONSET``                              fixation cross shown
``STIM_ONSET``                                  image and caption shown
``STIM_OFFSET``                                 image and caption removed
``!V TRIAL_VAR response <yes|no|unclear|timeout>``  the answer
``!V TRIAL_VAR rt_ms <milliseconds>``           its reaction time from STIM_ONSET
``TRIAL_RESULT <code>``                         last marker of a trial: 0 yes, 1 no, 2 unclear (POV codes), -1 timeout
``VALIDATION_TARGET <k> <x> <y>`` / ``VALIDATION_END``  calibration validation targets (screen px)
``PAUSE`` / ``RESUME`` / ``ABORT``              operator actions
``GAP_START`` / ``GAP_END``                     the tracker stream vanished / came back
``SESSION_END``                                 last marker of a session
==============================================  =========================================
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from app.core.answers import ANSWER_CODES
from app.core.layout import TrialLayout
from app.core.protocol import Trial

CODE_ANSWERS = {v: k for k, v in ANSWER_CODES.items()}



def _quote(value: str) -> str:
    return shlex.quote(value) if (not value or any(c.isspace() or c in "'\"" for c in value)) else value


def trial_start_markers(number: int, trial: Trial, layout: TrialLayout) -> list[str]:
    """Markers sent at the start of a trial: its id, variables and AOIs (all at one time stamp)."""
    out = [f"TRIALID {number}", f"!V TRIAL_VAR trial_id {trial.trial_id}",
           f"!V TRIAL_VAR practice {int(trial.practice)}", f"!V TRIAL_VAR image {_quote(trial.image.name)}",
           f"!V TRIAL_VAR caption {_quote(trial.caption)}"]
    if trial.expected:
        out.append(f"!V TRIAL_VAR expected {trial.expected}")
    x0, y0, x1, y1 = layout.image_rect
    out.append(f"!V IMGLOAD TOP_LEFT {_quote(trial.image.name)} {x0:.0f} {y0:.0f} {x1 - x0:.0f} {y1 - y0:.0f}")
    for k, aoi in enumerate(layout.aois, start=1):
        if len(aoi.polygon) == 4 and aoi.polygon[0][1] == aoi.polygon[1][1] and aoi.polygon[0][0] == aoi.polygon[3][0]:
            x0, y0, x1, y1 = aoi.bbox
            out.append(f"!V IAREA RECTANGLE {k} {x0:.1f} {y0:.1f} {x1:.1f} {y1:.1f} {aoi.name}")
        else:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in aoi.polygon)
            out.append(f"!V IAREA FREEHAND {k} {pts} {aoi.name}")
    return out


def display_coords_marker(width_px: int, height_px: int) -> str:
    return f"DISPLAY_COORDS 0 0 {width_px - 1} {height_px - 1}"


def response_markers(answer: str, rt_s: float | None) -> list[str]:
    if answer not in ANSWER_CODES:
        raise ValueError(f"unknown answer {answer!r}")
    out = [f"!V TRIAL_VAR response {answer}"]
    if rt_s is not None:
        out.append(f"!V TRIAL_VAR rt_ms {rt_s * 1000:.1f}")
    out.append(f"TRIAL_RESULT {ANSWER_CODES[answer]}")
    return out


@dataclass(frozen=True)
class Marker:
    """A parsed marker: ``kind`` is the first word (or ``TRIAL_VAR``/``IAREA`` for ``!V`` lines)."""

    kind: str
    args: tuple[str, ...]
    text: str


def parse_marker(text: str) -> Marker:
    """Split a marker string into its kind and arguments (quotes respected)."""
    try:
        parts = shlex.split(text)
    except ValueError:
        parts = text.split()
    if not parts:
        return Marker("", (), text)
    if parts[0] == "!V" and len(parts) >= 2:
        return Marker(parts[1], tuple(parts[2:]), text)
    return Marker(parts[0], tuple(parts[1:]), text)
