"""Writing what ``povlab detect`` found: events as BIDS physioevents columns and one label per sample.

Events: onset in the input's clock (``OnsetSource: timestamp``) plus position, amplitude and
peak velocity, with a JSON sidecar beside them holding every detection parameter.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import GazeDataError
from app.core.gaze_events import LABEL_NAMES, DetectionResult
from app.formats.bids_physio_reader import sidecar_path


def _cell(v: float, fmt: str) -> str:
    return "n/a" if not math.isfinite(v) else format(v, fmt)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise GazeDataError(f"{path}: cannot write ({exc})") from exc


EVENT_COLUMNS = ["onset", "duration", "trial_type", "x_coordinate", "y_coordinate", "amplitude", "peak_velocity",
                 "start_x", "start_y", "end_x", "end_y", "sample_start", "sample_stop"]


def events_sidecar(result: DetectionResult) -> dict[str, Any]:
    return {
        "Columns": EVENT_COLUMNS,
        "OnsetSource": "timestamp",
        "onset": {"Description": "Time of the event's first sample, in the clock of the input's time column.",
                  "Units": "s"},
        "duration": {"Description": "Last sample's time plus one nominal sample interval, minus onset.", "Units": "s"},
        "trial_type": {"Description": "Event kind.", "Levels": {
            "fixation": "fixation", "saccade": "saccade", "pso": "post-saccadic oscillation",
            "blink": "blink (missing data of blink length, with the lid's artefacts)",
            "track_loss": "missing data too short or too long to be a blink"}},
        "x_coordinate": {"Description": "Mean gaze position over the event (fixation: its position).",
                         "Units": "pixel"},
        "y_coordinate": {"Description": "Mean gaze position over the event, y downwards.", "Units": "pixel"},
        "amplitude": {"Description": "Visual angle between the first and last sample (saccade, pso).",
                      "Units": "deg"},
        "peak_velocity": {"Description": "Highest smoothed angular speed within the event.", "Units": "deg/s"},
        "sample_start": {"Description": "Index (from 0) of the event's first input sample."},
        "sample_stop": {"Description": "Index of the sample after the event's last one."},
        "DetectionParameters": dict(result.params),
    }


def write_events(path: Path, result: DetectionResult) -> Path:
    """EVENTS.tsv and its JSON sidecar (same name, .json). Returns the sidecar's path."""
    lines = ["\t".join(EVENT_COLUMNS)]
    for e in result.events:
        lines.append("\t".join([
            format(e.onset, ".6f"), format(e.duration, ".6f"), e.kind, _cell(e.x, ".2f"), _cell(e.y, ".2f"),
            _cell(e.amplitude_deg, ".3f"), _cell(e.peak_velocity_deg_s, ".1f"), _cell(e.start_x, ".2f"),
            _cell(e.start_y, ".2f"), _cell(e.end_x, ".2f"), _cell(e.end_y, ".2f"), str(e.start_index),
            str(e.stop_index)]))
    _write_atomic(path, "\n".join(lines) + "\n")
    side = sidecar_path(path)
    _write_atomic(side, json.dumps(events_sidecar(result), indent=2, sort_keys=False) + "\n")
    return side


def write_samples(path: Path, t: np.ndarray, result: DetectionResult) -> None:
    """``time<TAB>label``, one row per input sample, in input order."""
    lut = np.array([LABEL_NAMES.get(c, "undefined") for c in range(256)], dtype=object)
    labels = lut[result.labels]
    body = "\n".join(f"{ti!r}\t{lab}" for ti, lab in zip(t.tolist(), labels.tolist(), strict=True))
    _write_atomic(path, "time\tlabel\n" + body + ("\n" if len(t) else ""))
