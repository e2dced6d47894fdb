"""Reading gaze samples for ``povlab detect`` and writing its events and sample labels.

Inputs:

- a CSV whose header starts with ``time,x,y`` (seconds; screen pixels from the top-left
  corner; an empty cell or ``NaN`` in x/y is track loss; the rate may be uneven);
- a BIDS eye-tracking physio file (BEP020, ``*_physio.tsv[.gz]``, header-less) with its JSON
  sidecar: ``Columns`` must name ``x_coordinate`` and ``y_coordinate``; times come from a
  ``timestamp`` column (``Units`` s, ms or us; without ``Units`` a median step of 0.5 or more is
  taken as milliseconds) or else from ``StartTime + i / SamplingFrequency``. A sidecar whose
  ``SamplingFrequency`` is ``"n/a"`` (irregular streams, as POV Lab's own export writes) uses
  the timestamps; one without ``SamplingFrequency`` at all is an error unless ``--rate`` is given.
  ``ScreenSize`` (m), ``ScreenResolution`` (px) and ``ScreenDistance`` (m) give the geometry, found
  in the sidecar (top level or ``StimulusPresentation``) or in the task's ``*_events.json``.

Outputs: events as BIDS physioevents columns (onset in the input's clock, ``OnsetSource:
timestamp``) plus position, amplitude and peak velocity, a JSON sidecar beside them with
every detection parameter, and optionally one label per input sample.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import GazeDataError, PovLabError
from app.core.gaze import GazeBlock
from app.core.gaze_events import LABEL_NAMES, DetectionResult
from app.core.geometry import ScreenGeometry

_TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}


@dataclass(frozen=True)
class GazeInput:
    block: GazeBlock
    rate_hz: float | None  # declared rate, None when the samples' own times must tell
    geometry: ScreenGeometry | None  # from the sidecar, if it says


def _float(cell: str, path: Path, line: int, column: str, allow_missing: bool) -> float:
    text = cell.strip()
    if text == "" or text.lower() in ("nan", "n/a", "na"):
        if allow_missing:
            return math.nan
        raise GazeDataError(f"{path}: line {line}: {column} is missing")
    try:
        return float(text)
    except ValueError as exc:
        raise GazeDataError(f"{path}: line {line}: {column} is not a number: {text!r}") from exc


def read_csv(path: Path) -> GazeInput:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = csv.reader(fh)
            header = next(rows, None)
            if header is None:
                raise GazeDataError(f"{path}: the file is empty; expected a header 'time,x,y' and samples")
            names = [h.strip().lower() for h in header]
            if names[:3] != ["time", "x", "y"]:
                raise GazeDataError(f"{path}: the header is {','.join(header)!r}; expected it to start with "
                                    "'time,x,y' (seconds, screen pixels)")
            t, x, y = [], [], []
            for line, row in enumerate(rows, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) < 3:
                    raise GazeDataError(f"{path}: line {line}: expected at least 3 fields (time,x,y), got {len(row)}")
                t.append(_float(row[0], path, line, "time", False))
                x.append(_float(row[1], path, line, "x", True))
                y.append(_float(row[2], path, line, "y", True))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GazeDataError(f"{path}: cannot read the CSV ({exc})") from exc
    if not t:
        raise GazeDataError(f"{path}: no samples after the header")
    return GazeInput(GazeBlock.from_arrays(t, x, y), None, None)


def sidecar_path(physio: Path) -> Path:
    name = physio.name
    for ext in (".tsv.gz", ".tsv"):
        if name.endswith(ext):
            return physio.with_name(name[: -len(ext)] + ".json")
    return physio.with_suffix(".json")


def _geometry_in(meta: dict[str, Any], path: Path) -> ScreenGeometry | None:
    for where in (meta, meta.get("StimulusPresentation")):
        if not isinstance(where, dict):
            continue
        size, res, dist = where.get("ScreenSize"), where.get("ScreenResolution"), where.get("ScreenDistance")
        if size is None or res is None or dist is None:
            continue
        try:
            return ScreenGeometry(int(res[0]), int(res[1]), float(size[0]) * 100, float(size[1]) * 100,
                                  float(dist) * 100)
        except (TypeError, ValueError, IndexError, PovLabError) as exc:
            raise GazeDataError(f"{path}: ScreenSize/ScreenResolution/ScreenDistance are malformed ({exc})") from exc
    return None


def events_json_path(physio: Path) -> Path:
    """The task's ``*_events.json`` that a BIDS physio file inherits from (``_recording-*`` and ``_physio`` cut)."""
    stem = re.sub(r"(_recording-[^_]+)?_physio\.tsv(\.gz)?$", "", physio.name)
    return physio.with_name(stem + "_events.json")


def _bids_geometry(side: dict[str, Any], side_path: Path, physio: Path) -> ScreenGeometry | None:
    """Screen geometry from the physio sidecar, else from the task's events.json (StimulusPresentation)."""
    found = _geometry_in(side, side_path)
    if found is not None:
        return found
    events = events_json_path(physio)
    if events != side_path and events.is_file():
        try:
            meta = json.loads(events.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GazeDataError(f"{events}: not a readable JSON file ({exc})") from exc
        if isinstance(meta, dict):
            return _geometry_in(meta, events)
    return None


def read_bids_physio(path: Path, rate_override: float | None = None) -> GazeInput:
    side_path = sidecar_path(path)
    try:
        side = json.loads(side_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GazeDataError(f"{path}: the JSON sidecar {side_path.name} is missing") from exc
    except (OSError, ValueError) as exc:
        raise GazeDataError(f"{side_path}: not a readable JSON sidecar ({exc})") from exc
    if not isinstance(side, dict):
        raise GazeDataError(f"{side_path}: expected a JSON object")
    columns = side.get("Columns")
    if not isinstance(columns, list) or "x_coordinate" not in columns or "y_coordinate" not in columns:
        raise GazeDataError(f"{side_path}: 'Columns' must list x_coordinate and y_coordinate, got {columns!r}")
    unit = str(side.get("SampleCoordinateUnits", "pixel")).lower()
    if unit not in ("pixel", "pixels", "px"):
        raise GazeDataError(f"{side_path}: SampleCoordinateUnits is {unit!r}; only screen pixels are supported")
    declared = side.get("SamplingFrequency")
    has_time = "timestamp" in columns
    if declared is None and rate_override is None:
        raise GazeDataError(f"{side_path}: no SamplingFrequency; add it to the sidecar or pass --rate HZ")
    rate: float | None = rate_override
    if rate is None and declared != "n/a":
        try:
            rate = float(declared)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise GazeDataError(f"{side_path}: SamplingFrequency must be a number or \"n/a\", got {declared!r}") from exc
        if not rate > 0:
            raise GazeDataError(f"{side_path}: SamplingFrequency must be positive, got {declared!r}")
    if rate is None and not has_time:
        raise GazeDataError(f"{side_path}: SamplingFrequency is n/a and there is no timestamp column; pass --rate HZ")
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            rows = [r for r in csv.reader(fh, delimiter="\t") if r]
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as exc:
        raise GazeDataError(f"{path}: cannot read the physio file ({exc})") from exc
    if not rows:
        raise GazeDataError(f"{path}: the physio file holds no samples")
    ix, iy = columns.index("x_coordinate"), columns.index("y_coordinate")
    it = columns.index("timestamp") if has_time else None
    x, y, t = [], [], []
    for line, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise GazeDataError(f"{path}: line {line}: {len(row)} fields, the sidecar's Columns name {len(columns)}")
        x.append(_float(row[ix], path, line, "x_coordinate", True))
        y.append(_float(row[iy], path, line, "y_coordinate", True))
        if it is not None:
            t.append(_float(row[it], path, line, "timestamp", False))
    if it is not None:
        tt = np.asarray(t)
        units = str((side.get("timestamp") or {}).get("Units", "")).strip().lower()
        if units and units not in _TIME_SCALE:
            raise GazeDataError(f"{side_path}: timestamp Units {units!r} not understood (s, ms or us)")
        if not units:
            units = "ms" if len(tt) > 1 and float(np.median(np.diff(tt))) >= 0.5 else "s"
        tt = tt * _TIME_SCALE[units]
    else:
        assert rate is not None
        start = side.get("StartTime", 0.0)
        tt = float(start if isinstance(start, (int, float)) else 0.0) + np.arange(len(x)) / rate
    return GazeInput(GazeBlock.from_arrays(tt, x, y), rate, _bids_geometry(side, side_path, path))


def read_gaze(path: Path, rate_override: float | None = None) -> GazeInput:
    """A CSV (``.csv``) or a BIDS physio file (``.tsv``/``.tsv.gz`` with its sidecar)."""
    if not path.is_file():
        raise GazeDataError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith(".csv"):
        return read_csv(path)
    if name.endswith((".tsv", ".tsv.gz")):
        return read_bids_physio(path, rate_override)
    raise GazeDataError(f"{path}: expected a .csv (time,x,y) or a BIDS physio .tsv/.tsv.gz with a JSON sidecar")


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
