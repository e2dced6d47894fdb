"""XDF files as LabRecorder writes them from the vendors' LSL apps, their StreamInfos re-created from the apps' source.

- ``labstreaminglayer/App-TobiiPro`` (mainwindow.cpp): name "Tobii", type "Eyetracker", 6 float32
  channels at 600 Hz, source_id "Tobiiat_<address>", desc/acquisition (manufacturer TobiiPro, model,
  application TobiiProApp, precision 24) and desc/channels left_x/left_y (ScreenX/ScreenY, unit
  screencoords: 0..1 of the display area), left_pupil (pupilsize), then the right eye; NaN if invalid.
- ``labstreaminglayer/App-EyeLink`` (eyelink.py): name "EyeLink", type "Gaze", 10 double64 channels
  (leftEyeX, leftEyeY, rightEyeX, rightEyeY, leftPupilArea, rightPupilArea, pixelsPerDegreeX/Y,
  eyelink_timestamp, LSL_timestamp), every channel typed "eyetracking", source_id "eyelink-<host>";
  screen pixels, 0 where an eye is not tracked.
- a Tobii 4C through a stream-engine LSL app as labs record it: 2 float32 channels (x, y of the
  screen, 0..1), type "Gaze", no channel metadata at all.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from app.core.geometry import ScreenGeometry
from app.core.synthetic_gaze import SimParams, Target, synthesize_gaze
from app.formats.xdf_format import XdfStream, stream_header_xml, write_streams

SCREEN = (1920, 1080)


def _channels(*chans: dict[str, str]) -> str:
    return "<channels>" + "".join(
        "<channel>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in c.items()) + "</channel>" for c in chans
    ) + "</channels>"


def header(name: str, type_: str, n: int, fmt: str, rate: float, source_id: str, desc: str = "") -> str:
    return ('<?xml version="1.0"?><info>'
            f"<name>{escape(name)}</name><type>{escape(type_)}</type><channel_count>{n}</channel_count>"
            f"<channel_format>{fmt}</channel_format><source_id>{escape(source_id)}</source_id>"
            f"<nominal_srate>{rate!r}</nominal_srate><version>1.1</version><created_at>0</created_at>"
            f"<uid>u-{escape(source_id)}</uid><session_id>default</session_id><hostname>labpc</hostname>"
            f"<desc>{desc}</desc></info>")


TOBII_PRO_DESC = (
    "<acquisition><manufacturer>TobiiPro</manufacturer><model>TODO</model><application>TobiiProApp</application>"
    "<precision>24</precision></acquisition>"
    + _channels(*[c for eye in ("left", "right") for c in (
        {"label": f"{eye}_x", "eye": eye, "type": "ScreenX", "unit": "screencoords"},
        {"label": f"{eye}_y", "eye": eye, "type": "ScreenY", "unit": "screencoords"},
        {"label": f"{eye}_pupil", "eye": eye, "type": "pupilsize"})]))
EYELINK_LABELS = ("leftEyeX", "leftEyeY", "rightEyeX", "rightEyeY", "leftPupilArea", "rightPupilArea",
                  "pixelsPerDegreeX", "pixelsPerDegreeY", "eyelink_timestamp", "LSL_timestamp")
EYELINK_DESC = _channels(*[{"label": lab, "type": "eyetracking"} for lab in EYELINK_LABELS])


def scanpath(rate: float, seconds: float = 4.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixations and saccades over the screen: t (s, LSL clock), x, y (px, no loss)."""
    rng = np.random.default_rng(seed)
    n = max(2, int(seconds / 0.35))
    targets = [Target(float(rng.uniform(200, 1700)), float(rng.uniform(150, 900)), 0.3) for _ in range(n)]
    params = SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0)
    b = synthesize_gaze(targets, rate, ScreenGeometry(), params, np.random.default_rng(seed + 1)).block
    return 1000.0 + b.t - b.t[0], b.x, b.y


def tobii_pro(t: np.ndarray, x: np.ndarray, y: np.ndarray, sid: int = 1) -> XdfStream:
    nx, ny = x / SCREEN[0], y / SCREEN[1]
    data = np.column_stack([nx, ny, np.full_like(nx, 3.1), nx, ny, np.full_like(nx, 3.2)]).astype(np.float32)
    return XdfStream(sid, "Tobii", "Eyetracker", "float32", 600.0, "Tobiiat_tet-tcp://169.254.1.1",
                     ("left_x", "left_y", "left_pupil", "right_x", "right_y", "right_pupil"), (),
                     header("Tobii", "Eyetracker", 6, "float32", 600.0, "Tobiiat_tet-tcp://169.254.1.1",
                            TOBII_PRO_DESC), t, data)


def _rate(t: np.ndarray) -> float:
    return float(round(1.0 / np.median(np.diff(t)))) if len(t) > 1 else 500.0


def eyelink_app(t: np.ndarray, x: np.ndarray, y: np.ndarray, sid: int = 2) -> XdfStream:
    """The app's SR argument sets the nominal rate (default 500); here the samples' own rate."""
    n, rate = len(t), _rate(t)
    data = np.column_stack([x, y, np.zeros(n), np.zeros(n), np.full(n, 900.0), np.zeros(n), np.full(n, 37.0),
                            np.full(n, 37.0), 1e6 + np.arange(n) * 2.0, t])  # right eye not tracked: 0
    return XdfStream(sid, "EyeLink", "Gaze", "double64", rate, "eyelink-labpc", EYELINK_LABELS, (),
                     header("EyeLink", "Gaze", 10, "double64", rate, "eyelink-labpc", EYELINK_DESC), t, data)


def tobii_4c(t: np.ndarray, x: np.ndarray, y: np.ndarray, sid: int = 3, normalised: bool = True) -> XdfStream:
    data = np.column_stack([x / SCREEN[0], y / SCREEN[1]] if normalised else [x, y]).astype(np.float32)
    rate = _rate(t)
    return XdfStream(sid, "Tobii4C", "Gaze", "float32", rate, "tobii4c-1", ("", ""), (),
                     header("Tobii4C", "Gaze", 2, "float32", rate, "tobii4c-1"), t, data)


def eeg(t: np.ndarray, sid: int = 4) -> XdfStream:
    data = np.random.default_rng(5).normal(0, 20, (len(t), 8)).astype(np.float32)
    labels = tuple(f"Ch{i + 1}" for i in range(8))
    return XdfStream(sid, "BioSemi", "EEG", "float32", float(round(1 / np.median(np.diff(t)))), "biosemi-1",
                     labels, ("microvolts",) * 8,
                     stream_header_xml("BioSemi", "EEG", labels, "float32", 500.0, "biosemi-1", ("microvolts",) * 8),
                     t, data)


def markers(t0: float, sid: int = 9) -> XdfStream:
    return XdfStream(sid, "PsychoPyMarkers", "Markers", "string", 0.0, "psychopy-m", ("marker",), (),
                     stream_header_xml("PsychoPyMarkers", "Markers", ("marker",), "string", 0.0, "psychopy-m"),
                     np.array([t0, t0 + 1.0]), [["TRIALID 1"], ["TRIAL_END 1"]])


def write(path: Path, *streams: XdfStream) -> Path:
    write_streams(path, list(streams))
    return path
