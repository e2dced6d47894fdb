"""BIDS eye-tracking files (BEP020, BIDS 1.11 "Physiological recordings > Eye-tracking").

Per eye ``<matches>_recording-eye<k>_physio.tsv.gz`` (header-less; ``Columns`` in the sidecar:
timestamp, x_coordinate, y_coordinate, pupil_size) and ``..._physioevents.tsv.gz`` (onset,
duration, trial_type, blink, message) with ``OnsetSource: "timestamp"``: onsets are in the
same clock as the ``timestamp`` column, LSL seconds. Sidecar fields follow the specification's
tables (``continuous.Continuous``, ``continuous.EyeTrack``).

Gaze events are detected offline on each eye separately with the project's detector
(``app.detection.pipeline.detect``, I-VT after Salvucci & Goldberg 2000 with Tobii's defaults,
plus its blink rule), so the events describe the eye of the file they annotate; the fixations
the operator saw live stay in the XDF (``sourcedata/``).
"""

from __future__ import annotations

import io
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.geometry import ScreenGeometry
from app.core.run_metadata import RunMetadata, TrackerRecord
from app.formats.gaze_channels import EyeData, eyes_of
from app.formats.xdf_format import XdfStream

DETECTION_METHOD = "ivt"


def _gzip_bytes(data: bytes) -> bytes:
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip container, fastest level: text compresses ~2x anyway
    return comp.compress(data) + comp.flush()


#: a longer silence is damage to the stamps (a recovered file can hold 1e12 or NaN), not a tracker gap:
#: it is left as it is instead of being filled with rows (1e12 s at 1 kHz would be 1e15 rows)
MAX_FILL_S = 24 * 3600.0


def fill_gaps(t: np.ndarray, cols: list[np.ndarray], rate_hz: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Insert NaN rows where the stream was silent for more than 1.5 sample intervals.

    BIDS physio files are regularly sampled; a tracker gap (stream lost, USB hiccup) becomes rows of
    ``n/a`` at the nominal rate instead of a jump in time, so row index / SamplingFrequency stays time.
    Steps that are not finite, go back in time or are longer than :data:`MAX_FILL_S` are not filled.
    """
    if rate_hz <= 0 or len(t) < 2:
        return t, cols
    dt = 1.0 / rate_hz
    step = np.diff(t)
    with np.errstate(invalid="ignore"):
        fill = np.isfinite(step) & (step > 1.5 * dt) & (step <= MAX_FILL_S)
    missing = np.zeros(len(step), dtype=np.int64)
    missing[fill] = np.rint(step[fill] / dt).astype(np.int64) - 1
    if not missing.any():
        return t, cols
    at = np.repeat(np.arange(1, len(t)), missing)  # insert before these indices
    k = np.concatenate([np.arange(1, m + 1) for m in missing[missing > 0]])
    new_t = np.insert(t, at, t[at - 1] + k * dt)
    return new_t, [np.insert(c, at, np.nan) for c in cols]


def _round(a: np.ndarray, decimals: int) -> np.ndarray:
    """``np.round`` that leaves huge values as they are (rounding 1e308 to 6 decimals overflows to inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.abs(a) < 1e15, np.round(a, decimals), a)


def physio_tsv(t: np.ndarray, x: np.ndarray, y: np.ndarray, pupil: np.ndarray | None, rate_hz: float = 0.0) -> bytes:
    """Header-less TSV text; missing values as ``n/a`` (BIDS); gaps filled at ``rate_hz`` (see fill_gaps)."""
    import polars as pl

    t, filled = fill_gaps(t, [x, y] + ([pupil] if pupil is not None else []), rate_hz)
    x, y = filled[0], filled[1]
    pupil = filled[2] if pupil is not None else None

    cols = {"timestamp": pl.Series(_round(t, 6)), "x": pl.Series(_round(x, 2), nan_to_null=True),
            "y": pl.Series(_round(y, 2), nan_to_null=True)}
    if pupil is not None:
        cols["p"] = pl.Series(_round(pupil, 4), nan_to_null=True)
    buf = io.BytesIO()
    pl.DataFrame(cols).write_csv(buf, include_header=False, separator="\t", null_value="n/a",
                                 line_terminator="\n", quote_style="never")
    return buf.getvalue()


def gaze_events(t: np.ndarray, x: np.ndarray, y: np.ndarray, screen: ScreenGeometry, rate_hz: float | None,
                ) -> tuple[list[tuple[float, float | None, str | None, int | None, str | None]], str | None]:
    """Fixations, saccades and blinks of one eye (I-VT); rows plus a note when nothing could be detected."""
    from app.detection.pipeline import detect

    try:
        result = detect(GazeBlock.from_arrays(t, x, y), screen, method=DETECTION_METHOD, rate_hz=rate_hz or None)
    except GazeDataError as exc:
        return [], f"no gaze events: {exc}"
    rows: list[tuple[float, float | None, str | None, int | None, str | None]] = [
        (e.onset, e.duration, e.kind, int(e.kind == "blink"), None)
        for e in result.events if e.kind in ("fixation", "saccade", "blink")]
    return rows, None


def physio_events(events: list[tuple[float, float | None, str | None, int | None, str | None]],
                  markers: XdfStream | None) -> list[tuple[float, float | None, str | None, int | None, str | None]]:
    """Gaze events and every marker as a message row, sorted by onset."""
    rows = list(events)
    if markers is not None and isinstance(markers.time_series, list):
        for ts, text in zip(markers.time_stamps.tolist(), markers.strings(), strict=True):
            rows.append((float(ts), None, None, None, text))
    rows.sort(key=lambda r: r[0])
    return rows


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):  # BIDS: a number or n/a, never nan or inf
        return "n/a"
    if isinstance(v, float):
        return f"{v:.6f}"
    text = str(v).replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return text if text else "n/a"


def events_tsv(rows: list[tuple[Any, ...]]) -> bytes:
    return "".join("\t".join(_cell(v) for v in r) + "\n" for r in rows).encode("utf-8")


def physio_sidecar(eye: EyeData, gaze: XdfStream, start_time: float, meta: RunMetadata) -> dict[str, Any]:
    tracker = meta.tracker or TrackerRecord()
    rate = float(gaze.nominal_srate or tracker.rate or 0) or None
    columns = ["timestamp", "x_coordinate", "y_coordinate"] + (["pupil_size"] if eye.pupil is not None else [])
    how = f"channel map from {eye.mapping}"
    side: dict[str, Any] = {
        "Columns": columns,
        "SamplingFrequency": rate if rate else "n/a",
        "StartTime": round(start_time, 6),
        "PhysioType": "eyetrack",
        "TaskName": meta.task or "pov",
        "RecordedEye": eye.recorded_eye,
        "SampleCoordinateSystem": "gaze-on-screen",
        "EnvironmentCoordinates": "top-left",
        "SampleCoordinateUnits": "pixel",
        "Manufacturer": tracker.name or gaze.name,
        "SoftwareVersion": f"POV Lab {meta.app_version or ''}".strip(),
        "timestamp": {"Description": "Time stamp of the sample in the recording computer's LSL clock "
                                     "(pylsl.local_clock), as stored in the session's XDF file. Where the "
                                     "tracker sent nothing (a gap), rows of n/a keep the nominal rate.",
                      "Units": "s", "Origin": "LSL clock of the recording computer"},
        "x_coordinate": {"LongName": "Gaze position (x)", "Description": f"Channel {eye.x_channel} of stream "
                         f"{gaze.name} in screen pixels, origin at the top-left corner ({how}).", "Units": "pixel"},
        "y_coordinate": {"LongName": "Gaze position (y)", "Description": f"Channel {eye.y_channel} of stream "
                         f"{gaze.name} in screen pixels, y downwards ({how}).", "Units": "pixel"},
    }
    if eye.pupil is not None:
        what = {"diameter": "Pupil diameter", "area": "Pupil area"}.get(eye.pupil_measure)
        text = (f"{what}, channel {eye.pupil_channel} of stream {gaze.name}." if what else
                f"Pupil size, channel {eye.pupil_channel} of stream {gaze.name}, as the tracker sends it: its stream "
                "metadata does not say whether it is an area or a diameter.")
        side["pupil_size"] = {"Description": text, "Units": eye.pupil_unit}
    val = meta.validation
    if val is not None:
        if isinstance(val.get("mean_error_deg"), (int, float)):
            side["AverageCalibrationError"] = float(val["mean_error_deg"])
        if isinstance(val.get("max_error_deg"), (int, float)):
            side["MaximalCalibrationError"] = float(val["max_error_deg"])
        if isinstance(val.get("targets"), int):
            side["CalibrationType"] = f"H{val['targets']}" if val["targets"] in (3, 5, 9, 13) else "n/a"
    return side


PHYSIOEVENTS_SIDECAR: dict[str, Any] = {
    "Columns": ["onset", "duration", "trial_type", "blink", "message"],
    "TaskName": "pov",
    "Description": "Gaze events of the recorded eye and the session's markers (EyeLink-style messages).",
    "OnsetSource": "timestamp",
    "onset": {"Description": "Onset in the clock of the physio timestamp column (LSL seconds).", "Units": "s"},
    "duration": {"Description": "Duration of the event.", "Units": "s"},
    "trial_type": {"Description": "Gaze event type.", "Levels": {
        "fixation": "Fixation of this eye, detected offline by I-VT (Salvucci & Goldberg 2000).",
        "saccade": "Saccade of this eye, detected offline by I-VT.",
        "blink": "Blink: a short run of lost samples, as classified by the detector."}},
    "blink": {"Description": "Eye status during the event.", "Levels": {"0": "Eye open.", "1": "Eye closed."}},
    "message": {"Description": "Marker sent by the experiment (markers vocabulary of POV Lab)."},
}


def write_eye_files(out_dir: Path, prefix: str, gaze: XdfStream, markers: XdfStream | None, start_time: float,
                    meta: RunMetadata, screen: ScreenGeometry, notes: list[str]) -> list[Path]:
    """Write physio and physioevents (tsv.gz + json) for every eye; returns the paths written.

    The eyes are formatted and compressed on two threads (polars and zlib release the GIL).
    """
    import json
    from concurrent.futures import ThreadPoolExecutor

    t = gaze.time_stamps
    eyes = eyes_of(gaze, meta.tracker, screen)

    def build(eye: EyeData) -> dict[Path, bytes]:
        x, y, pupil = eye.x, eye.y, eye.pupil
        base = out_dir / f"{prefix}_recording-{eye.label}"
        events, note = gaze_events(t, x, y, screen, gaze.nominal_srate)
        if note:
            notes.append(f"{eye.label} ({eye.recorded_eye}): {note}")
        return {
            Path(f"{base}_physio.tsv.gz"): _gzip_bytes(physio_tsv(t, x, y, pupil, gaze.nominal_srate)),
            Path(f"{base}_physio.json"): json.dumps(physio_sidecar(eye, gaze, start_time, meta), indent=2).encode(),
            Path(f"{base}_physioevents.tsv.gz"): _gzip_bytes(events_tsv(physio_events(events, markers))),
            Path(f"{base}_physioevents.json"): json.dumps(
                {**PHYSIOEVENTS_SIDECAR, "TaskName": meta.task or "pov"}, indent=2).encode(),
        }

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(build, eyes))
    written = []
    for files in results:
        for path, data in files.items():
            path.write_bytes(data)
            written.append(path)
    return written
