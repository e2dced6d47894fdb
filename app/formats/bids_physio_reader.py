"""Reading a BIDS eye-tracking physio file (BEP020, ``*_physio.tsv[.gz]`` + JSON sidecar): the one reader.

The writer is :mod:`app.formats.bids_physio`; ``povlab detect`` and ``povlab replay`` both read
through :func:`read_bids_physio`. Rules:

- ``Columns`` (sidecar) names the header-less TSV's columns and must include ``x_coordinate``
  and ``y_coordinate``; ``_left``/``_right`` suffixes or ``RecordedEye`` give each column's eye;
  ``pupil_size`` becomes a Diameter channel; ``n/a`` is a lost sample.
- ``SampleCoordinateUnits`` must be pixels (the default).
- ``SamplingFrequency``: a positive number, or ``"n/a"`` (irregular; the ``timestamp`` column
  is then needed); missing is an error unless the caller gives a rate (``--rate``).
- Times: the ``timestamp`` column (``Units`` s, ms or us; without ``Units``, whichever of s and
  ms makes the median step closer to the nominal interval, or ms when the step is 0.5 or more)
  or else ``StartTime + i / SamplingFrequency``.
- ``ScreenSize`` (m), ``ScreenResolution`` (px) and ``ScreenDistance`` (m), in the sidecar (top
  level or ``StimulusPresentation``) or the task's ``*_events.json``, give the geometry.

The path may be the TSV or its sidecar.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import GazeDataError, PovLabError
from app.core.geometry import ScreenGeometry
from app.core.limits import json_loads_bounded
from app.core.recorded_gaze import RecordedGaze, channel_desc

_TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
MAX_RATE_HZ = 100_000.0
_TYPES = {"x_coordinate": "ScreenX", "y_coordinate": "ScreenY", "pupil_size": "Diameter"}


def sidecar_path(physio: Path) -> Path:
    name = physio.name
    for ext in (".tsv.gz", ".tsv"):
        if name.endswith(ext):
            return physio.with_name(name[: -len(ext)] + ".json")
    return physio.with_suffix(".json")


def events_json_path(physio: Path) -> Path:
    """The task's ``*_events.json`` that a BIDS physio file inherits from (``_recording-*`` and ``_physio`` cut)."""
    stem = re.sub(r"(_recording-[^_]+)?_physio\.tsv(\.gz)?$", "", physio.name)
    return physio.with_name(stem + "_events.json")


def _is_number(v: Any) -> bool:
    """A JSON number (not a boolean, not a string), finite."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return _is_number(v) and float(v).is_integer()


def _geometry_in(meta: dict[str, Any], path: Path) -> ScreenGeometry | None:
    for where in (meta, meta.get("StimulusPresentation")):
        if not isinstance(where, dict):
            continue
        size, res, dist = where.get("ScreenSize"), where.get("ScreenResolution"), where.get("ScreenDistance")
        if size is None or res is None or dist is None:
            continue
        try:
            if not (isinstance(res, list) and len(res) == 2 and all(_is_int(v) for v in res)):
                raise ValueError(f"ScreenResolution must be two whole numbers of pixels, got {res!r}")
            if not (isinstance(size, list) and len(size) == 2 and all(_is_number(v) for v in size)):
                raise ValueError(f"ScreenSize must be two numbers (m), got {size!r}")
            if not _is_number(dist):
                raise ValueError(f"ScreenDistance must be a number (m), got {dist!r}")
            return ScreenGeometry(int(res[0]), int(res[1]), float(size[0]) * 100, float(size[1]) * 100,
                                  float(dist) * 100)
        except (TypeError, ValueError, IndexError, KeyError, OverflowError, PovLabError) as exc:
            raise GazeDataError(f"{path}: ScreenSize/ScreenResolution/ScreenDistance are malformed "
                                f"({str(exc)[:80]})") from exc
    return None


def _geometry(side: dict[str, Any], side_path: Path, physio: Path) -> ScreenGeometry | None:
    found = _geometry_in(side, side_path)
    if found is not None:
        return found
    events = events_json_path(physio)
    if events != side_path and events.is_file():
        try:
            meta = json_loads_bounded(_read_small(events))
        except (OSError, ValueError) as exc:
            raise GazeDataError(f"{events}: not a readable JSON file ({exc})") from exc
        if isinstance(meta, dict):
            return _geometry_in(meta, events)
    return None


def number_cell(text: str, path: Path, line: int, column: str, allow_missing: bool) -> float:
    """One numeric cell of a gaze table: empty, ``nan`` or ``n/a`` is missing (NaN, or an error where not allowed)."""
    t = text.strip()
    if t == "" or t.lower() in ("nan", "n/a", "na"):
        if allow_missing:
            return math.nan
        raise GazeDataError(f"{path}: line {line}: {column} is missing")
    try:
        return float(t)
    except ValueError as exc:
        raise GazeDataError(f"{path}: line {line}: {column} is not a number: {t[:40]!r}") from exc


def _tsv_of(path: Path) -> Path:
    if not path.name.endswith(".json"):
        return path
    stem = path.name[: -len(".json")]
    for ext in (".tsv.gz", ".tsv"):
        if path.with_name(stem + ext).exists():
            return path.with_name(stem + ext)
    raise GazeDataError(f"{path}: no {stem}.tsv.gz or {stem}.tsv beside this sidecar")


def _sidecar(tsv: Path) -> tuple[Path, dict[str, Any]]:
    side_path = sidecar_path(tsv)
    try:
        side = json_loads_bounded(_read_small(side_path))
    except FileNotFoundError as exc:
        raise GazeDataError(f"{tsv}: the JSON sidecar {side_path.name} is missing") from exc
    except (OSError, ValueError) as exc:
        raise GazeDataError(f"{side_path}: not a readable JSON sidecar ({exc})") from exc
    if not isinstance(side, dict):
        raise GazeDataError(f"{side_path}: expected a JSON object")
    return side_path, side


def _read_small(path: Path, most: int = 16 * 2**20) -> str:
    """A JSON file's text (at most 16 MiB; a sidecar is a few kB)."""
    with open(path, "rb") as fh:
        data = fh.read(most + 1)
    if len(data) > most:
        raise ValueError(f"larger than {most // 2**20} MiB")
    return data.decode("utf-8-sig")


def _rate(side: dict[str, Any], side_path: Path, has_time: bool, rate_override: float | None) -> float | None:
    declared = side.get("SamplingFrequency")
    if declared is None and rate_override is None:
        raise GazeDataError(f"{side_path}: no SamplingFrequency; add it to the sidecar or pass --rate HZ")
    rate: float | None = rate_override
    if rate is None and declared != "n/a":
        if isinstance(declared, bool) or not isinstance(declared, (int, float)):
            raise GazeDataError(f"{side_path}: SamplingFrequency must be a number or \"n/a\", got {str(declared)[:40]!r}")
        rate = float(declared)
        if not (math.isfinite(rate) and 0 < rate <= MAX_RATE_HZ):
            raise GazeDataError(f"{side_path}: SamplingFrequency must be positive and at most {MAX_RATE_HZ:g} Hz, "
                                f"got {declared!r}")
    if rate is None and not has_time:
        raise GazeDataError(f"{side_path}: SamplingFrequency is n/a and there is no timestamp column; pass --rate HZ")
    return rate


def read_bids_physio(path: Path, rate_override: float | None = None) -> RecordedGaze:
    tsv = _tsv_of(path)
    side_path, side = _sidecar(tsv)
    columns = side.get("Columns")
    if (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
            or not any(c.startswith("x_coordinate") for c in columns)
            or not any(c.startswith("y_coordinate") for c in columns)):
        raise GazeDataError(f"{side_path}: 'Columns' must list x_coordinate and y_coordinate, got {str(columns)[:80]}")
    unit = str(side.get("SampleCoordinateUnits", "pixel")).lower()
    if unit not in ("pixel", "pixels", "px"):
        raise GazeDataError(f"{side_path}: SampleCoordinateUnits is {unit!r}; only screen pixels are supported")
    has_time = "timestamp" in columns
    rate = _rate(side, side_path, has_time, rate_override)
    try:
        opener = gzip.open if tsv.name.endswith(".gz") else open
        with opener(tsv, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
            rows = [r for r in csv.reader(fh, delimiter="\t") if r]
    except (OSError, UnicodeDecodeError, EOFError, csv.Error, gzip.BadGzipFile) as exc:
        raise GazeDataError(f"{tsv}: cannot read the physio file ({exc})") from exc
    if not rows:
        raise GazeDataError(f"{tsv}: the physio file holds no samples")
    table = np.empty((len(rows), len(columns)))
    for line, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise GazeDataError(f"{tsv}: line {line}: {len(row)} fields, the sidecar's Columns name {len(columns)}")
        for j, (cell, col) in enumerate(zip(row, columns, strict=True)):
            table[line - 1, j] = number_cell(cell, tsv, line, col, col != "timestamp")
    if has_time:
        t = table[:, columns.index("timestamp")]
        units = str((side.get("timestamp") or {}).get("Units", "")).strip().lower() \
            if isinstance(side.get("timestamp"), dict) else ""
        if units and units not in _TIME_SCALE:
            raise GazeDataError(f"{side_path}: timestamp Units {units!r} not understood (s, ms or us)")
        if not units:
            step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
            if rate:
                units = "ms" if abs(step - 1000.0 / rate) < abs(step - 1.0 / rate) else "s"
            else:
                units = "ms" if step >= 0.5 else "s"
        t = t * _TIME_SCALE[units]
    else:
        assert rate is not None
        start = side.get("StartTime", 0.0)
        if not (_is_number(start) and abs(start) < 1e12):  # seconds; 1e12 s is 30 000 years
            raise GazeDataError(f"{side_path}: StartTime must be a number of seconds, got {start!r}")
        t = float(start) + np.arange(len(table)) / rate
    eye = str(side.get("RecordedEye", "")).strip().lower()
    eye = eye if eye in ("left", "right") else ""
    keep, chans = [], []
    for j, col in enumerate(columns):
        if col == "timestamp":
            continue
        ceye = "left" if col.endswith("_left") else "right" if col.endswith("_right") else eye
        base = col.removesuffix("_left").removesuffix("_right")
        meta = side[col] if isinstance(side.get(col), dict) else {}
        keep.append(j)
        chans.append({"label": col, "eye": ceye, "type": _TYPES.get(base, base),
                      "unit": "pixels" if base in ("x_coordinate", "y_coordinate") else str(meta.get("Units", ""))})
    geometry = _geometry(side, side_path, tsv)
    res = side.get("ScreenResolution")
    screen = (geometry.width_px, geometry.height_px) if geometry else None
    if screen is None and isinstance(res, list) and len(res) == 2 and all(isinstance(v, int) and v > 0 for v in res):
        screen = (int(res[0]), int(res[1]))
    stem = tsv.name.removesuffix(".gz").removesuffix(".tsv")
    desc = channel_desc(chans, acquisition={"manufacturer": [str(side.get("Manufacturer", ""))]})
    return RecordedGaze(tsv, "bids", stem, "Gaze", stem, float(rate or 0.0), "double64", desc, t,
                        table[:, keep], screen_px=screen, geometry=geometry)
