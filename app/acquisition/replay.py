"""Replay a recorded gaze stream on LSL in real time, with its original timing and metadata.

Sources:

- an XDF file (LabRecorder, or this app's recorder): the gaze stream (type ``Gaze`` /
  ``Eyetracker``, or the one named) is read with pyxdf (clock offsets applied, time stamps
  not dejittered), and republished with its name, type, rate, format and whole ``desc`` tree;
- a BIDS eye-tracking physio file (``*_physio.tsv.gz`` with its ``.json`` sidecar; BEP020):
  ``Columns``, ``SamplingFrequency``, ``StartTime``, ``RecordedEye`` and per-column ``Units``
  become the channels' Gaze Meta-Data (x_coordinate -> ScreenX, y_coordinate -> ScreenY,
  pupil_size -> Diameter).

Sample ``i`` is published at ``start + (t_i - t_0) / speed`` on this machine's LSL clock and
stamped with that time, so the intervals between samples are those of the recording.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.acquisition.discovery import GAZE_TYPES
from app.core.errors import TrackerError

F64 = np.ndarray


@dataclass(frozen=True)
class RecordedGaze:
    name: str
    type: str
    source_id: str
    rate_hz: float
    channel_format: str
    desc: dict[str, Any]  # pyxdf-style tree: key -> list of str | dict | None
    time_stamps: F64  # (n,) seconds
    data: F64  # (n, channels)
    path: Path

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])


def load_recording(path: str | Path, stream_name: str | None = None) -> RecordedGaze:
    """Read the gaze stream of an XDF file or a BIDS physio file (chosen by the file name)."""
    p = Path(path)
    if not p.is_file():
        raise TrackerError(f"{p}: file not found")
    name = p.name.lower()
    if name.endswith((".xdf", ".xdfz")):
        return load_xdf_gaze(p, stream_name)
    if name.endswith((".tsv.gz", ".tsv")) or name.endswith(".json"):
        return load_bids_physio(p)
    raise TrackerError(f"{p}: not a recording POV Lab can replay (expected .xdf, or a BIDS *_physio.tsv.gz)")


def load_xdf_gaze(path: Path, stream_name: str | None = None) -> RecordedGaze:
    import pyxdf

    try:
        streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=True, dejitter_timestamps=False)
    except Exception as exc:  # noqa: BLE001 - pyxdf raises many kinds on corrupt files; translated
        raise TrackerError(f"{path}: cannot read XDF ({type(exc).__name__}: {exc})") from exc

    def first(info: dict[str, Any], key: str, default: str = "") -> str:
        v = info.get(key) or [default]
        return str(v[0]) if v[0] is not None else default

    if stream_name:
        chosen = [s for s in streams if first(s["info"], "name") == stream_name]
    else:
        types = {t.lower() for t in GAZE_TYPES}
        chosen = [s for s in streams if first(s["info"], "type").lower() in types]
    names = ", ".join(f"{first(s['info'], 'name')} ({first(s['info'], 'type')})" for s in streams) or "none"
    if not chosen:
        what = f"named {stream_name!r}" if stream_name else "of type Gaze"
        raise TrackerError(f"{path}: no stream {what} (streams: {names})")
    if len(chosen) > 1:
        raise TrackerError(f"{path}: several gaze streams ({names}); choose one with --stream NAME")
    s = chosen[0]
    info = s["info"]
    fmt = first(info, "channel_format", "float32")
    if fmt == "string":
        raise TrackerError(f"{path}: stream {first(info, 'name')!r} holds strings, not gaze samples")
    data = np.asarray(s["time_series"], dtype=np.float64)
    ts = np.asarray(s["time_stamps"], dtype=np.float64)
    if data.ndim != 2 or len(ts) == 0:
        raise TrackerError(f"{path}: stream {first(info, 'name')!r} has no samples")
    desc = info.get("desc") or [None]
    return RecordedGaze(first(info, "name"), first(info, "type"), first(info, "source_id"),
                        float(first(info, "nominal_srate", "0")), fmt, desc[0] or {}, ts, data, path)


_BIDS_TYPES = {"x_coordinate": "ScreenX", "y_coordinate": "ScreenY", "pupil_size": "Diameter"}


def load_bids_physio(path: Path) -> RecordedGaze:
    name = path.name
    stem = name[: -len(".tsv.gz")] if name.endswith(".tsv.gz") else path.stem
    tsv = path.with_name(stem + ".tsv.gz") if name.endswith(".json") else path
    if not tsv.exists() and name.endswith(".json"):
        tsv = path.with_name(stem + ".tsv")
    sidecar = path.with_name(stem + ".json")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TrackerError(f"{path}: BIDS physio file without its sidecar {sidecar.name}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise TrackerError(f"{sidecar}: cannot read the JSON sidecar ({exc})") from exc
    columns = meta.get("Columns")
    rate = meta.get("SamplingFrequency")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise TrackerError(f"{sidecar}: Columns: expected a list of column names")
    if not isinstance(rate, (int, float)) or rate <= 0:
        raise TrackerError(f"{sidecar}: SamplingFrequency: expected a positive number, got {rate!r}")
    try:
        opener = gzip.open if tsv.name.endswith(".gz") else open
        with opener(tsv, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            table = np.genfromtxt(fh, delimiter="\t", missing_values="n/a", filling_values=np.nan, ndmin=2)
    except (OSError, ValueError) as exc:
        raise TrackerError(f"{tsv}: cannot read the physio table ({exc})") from exc
    if table.size == 0 or table.shape[1] != len(columns):
        raise TrackerError(f"{tsv}: expected {len(columns)} columns ({', '.join(columns)}), got {table.shape[1]}")
    start = float(meta.get("StartTime", 0.0) or 0.0)
    if "timestamp" in columns:
        k = columns.index("timestamp")
        ts = table[:, k].astype(np.float64)
        unit = str((meta.get("timestamp") or {}).get("Units", "")).lower()
        step = float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0 / rate
        if unit == "ms" or (not unit and abs(step - 1000.0 / rate) < abs(step - 1.0 / rate)):
            ts = ts / 1000.0
        data_cols = [c for c in columns if c != "timestamp"]
        data = np.delete(table, k, axis=1)
    else:
        ts = start + np.arange(len(table)) / float(rate)
        data_cols, data = list(columns), table
    eye = str(meta.get("RecordedEye", "both")).lower()
    chans = []
    for c in data_cols:
        ceye = "left" if c.endswith("_left") else "right" if c.endswith("_right") else eye
        base = c.removesuffix("_left").removesuffix("_right")
        units = (meta.get(c) or {}).get("Units", "")
        chans.append({"label": [c], "eye": [ceye], "type": [_BIDS_TYPES.get(base, base)], "unit": [str(units)]})
    desc = {"channels": [{"channel": chans}]}
    return RecordedGaze(stem, "Gaze", stem, float(rate), "double64", desc, ts, data.astype(np.float64), path)


def _append_desc(node: Any, tree: dict[str, Any]) -> None:
    for key, values in tree.items():
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict):
                _append_desc(node.append_child(key), v)
            elif v is None:
                node.append_child(key)
            else:
                node.append_child_value(key, str(v))


class Replayer:
    """Publishes a :class:`RecordedGaze` on LSL; :meth:`run` blocks until done or stopped."""

    def __init__(self, recording: RecordedGaze, source_id: str | None = None, speed: float = 1.0,
                 chunk_s: float = 0.01) -> None:
        if not (speed > 0 and np.isfinite(speed)):
            raise TrackerError(f"replay speed must be > 0, got {speed}")
        self.rec, self.speed, self.chunk_s = recording, float(speed), chunk_s
        self.source_id = source_id or f"{recording.source_id or recording.name}-replay"
        self.samples_pushed = 0
        self._stop = threading.Event()
        self._outlet: Any = None

    def open(self) -> Any:
        """Create the outlet (done by :meth:`run` if not yet); returns its StreamInfo."""
        import pylsl

        r = self.rec
        fmt = r.channel_format if r.channel_format in ("float32", "double64", "int32", "int16", "int64") else "double64"
        info = pylsl.StreamInfo(r.name, r.type, r.n_channels, r.rate_hz * self.speed, fmt, self.source_id)
        _append_desc(info.desc(), r.desc)
        info.desc().append_child("replay").append_child_value("file", str(r.path))
        self._outlet = pylsl.StreamOutlet(info)
        return self._outlet.get_info()

    def stop(self) -> None:
        self._stop.set()

    def run(self, lead_s: float = 0.0) -> int:
        """Publish every sample at its time (after ``lead_s``), return the number published."""
        import pylsl

        if self._outlet is None:
            self.open()
        r = self.rec
        rel = (r.time_stamps - r.time_stamps[0]) / self.speed
        start = pylsl.local_clock() + lead_s
        stamps = start + rel
        i = 0
        n = len(stamps)
        while i < n and not self._stop.is_set():
            now = pylsl.local_clock()
            j = int(np.searchsorted(stamps, now, side="right"))
            if j > i:
                self._outlet.push_chunk(np.ascontiguousarray(r.data[i:j]), stamps[i:j].tolist())
                self.samples_pushed += j - i
                i = j
            if i < n:
                self._stop.wait(min(self.chunk_s, max(stamps[i] - now, 0.0)))
        return self.samples_pushed

    def close(self) -> None:
        self._outlet = None
