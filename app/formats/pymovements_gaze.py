"""Our BIDS eye-tracking export in pymovements, in one call.

pymovements (https://github.com/pymovements/pymovements) has no BIDS physio reader, and its
``pm.gaze.from_csv`` needs to be told what the sidecars say: tab-separated, no header line (the
column names are the sidecar's ``Columns``), ``n/a`` for missing samples, time in seconds, gaze in
screen pixels, and the screen (size, distance, resolution) from the events sidecar's
``StimulusPresentation``. :func:`pymovements_arguments` turns the sidecars into exactly those
arguments (a plain dict, no pymovements needed); :func:`read_pymovements` makes the call::

    from app.formats.pymovements_gaze import read_pymovements
    gaze = read_pymovements("bids/sub-01/ses-01/beh/sub-01_ses-01_task-pov_run-1_recording-eye1_physio.tsv.gz")
    gaze.pix2deg(); gaze.pos2vel(); gaze.detect("ivt")

or, without POV Lab: ``pm.gaze.from_csv(path, experiment=pm.Experiment(**a["experiment"]), **a["from_csv"])``
with ``a = pymovements_arguments(path)`` written out (docs/bids.md shows the literal call).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.core.errors import BundleError

_PHYSIO = re.compile(r"^(?P<stem>.+?)_recording-[A-Za-z0-9]+_physio\.tsv\.gz$")


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{path}: missing (pymovements needs it to read the gaze file)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not a readable JSON sidecar ({exc})") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a JSON object")
    return data


def pymovements_arguments(physio: Path | str) -> dict[str, dict[str, Any]]:
    """``{"experiment": kwargs of pm.Experiment, "from_csv": kwargs of pm.gaze.from_csv}`` for one eye's file."""
    path = Path(physio)
    m = _PHYSIO.match(path.name)
    if m is None:
        raise BundleError(f"{path}: expected a BIDS eye-tracking file named ..._recording-<eye>_physio.tsv.gz")
    side = _json(path.with_name(path.name.replace(".tsv.gz", ".json")))
    events = _json(path.with_name(f"{m.group('stem')}_events.json"))
    columns, rate = side.get("Columns"), side.get("SamplingFrequency")
    screen = events.get("StimulusPresentation")
    if not (isinstance(columns, list) and {"timestamp", "x_coordinate", "y_coordinate"} <= set(columns)):
        raise BundleError(f"{path}: the sidecar's Columns lack timestamp, x_coordinate and y_coordinate")
    if not isinstance(screen, dict) or not all(k in screen for k in ("ScreenResolution", "ScreenSize",
                                                                     "ScreenDistance")):
        raise BundleError(f"{path}: the events sidecar gives no StimulusPresentation screen (resolution, size, "
                          "distance)")
    if side.get("SampleCoordinateUnits") not in (None, "pixel"):
        raise BundleError(f"{path}: gaze in {side['SampleCoordinateUnits']!r}, expected pixel")
    (w_px, h_px), (w_m, h_m) = screen["ScreenResolution"], screen["ScreenSize"]
    experiment = {"screen_width_px": int(w_px), "screen_height_px": int(h_px), "screen_width_cm": float(w_m) * 100,
                  "screen_height_cm": float(h_m) * 100, "distance_cm": float(screen["ScreenDistance"]) * 100,
                  "origin": "upper left", "sampling_rate": float(rate) if isinstance(rate, (int, float)) else None}
    from_csv = {"time_column": "timestamp", "time_unit": "s", "pixel_columns": ["x_coordinate", "y_coordinate"],
                "read_csv_kwargs": {"separator": "\t", "has_header": False, "new_columns": list(columns),
                                    "null_values": ["n/a"]}}
    return {"experiment": experiment, "from_csv": from_csv}


def read_pymovements(physio: Path | str) -> Any:
    """One eye of a POV Lab BIDS export as a ``pymovements.Gaze`` (needs the pymovements package)."""
    args = pymovements_arguments(physio)
    import polars as pl

    try:
        import pymovements as pm
    except ImportError as exc:
        raise BundleError("pymovements is not installed (pip install pymovements)") from exc
    try:
        return pm.gaze.from_csv(Path(physio), experiment=pm.Experiment(**args["experiment"]), **args["from_csv"])
    except (OSError, EOFError, ValueError, pl.exceptions.PolarsError) as exc:  # a damaged or truncated file
        raise BundleError(f"{physio}: pymovements cannot read it ({exc})") from exc
