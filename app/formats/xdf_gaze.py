"""The gaze stream of an XDF file (LabRecorder, this app's recorder, any LSL app) as a :class:`RecordedGaze`.

pyxdf reads the file (clock offsets applied, time stamps not dejittered); its log output stays
off the terminal (:mod:`app.formats.quiet`) and a file it reports as corrupt or truncated is
refused with one line. The stream is chosen as follows:

- ``stream`` given: the stream of that name (or source_id); strings are refused;
- else the numeric streams whose type says gaze (``Gaze``, ``Eyetracker``, ...), else those
  whose channels describe gaze (Gaze Meta-Data or a vendor layout recognised from the labels);
- the parts of one tracker that came back during the recording (streams of the same name, channels
  and format, one after the other in time; POV Lab records a new stream each time) are read as one;
- several candidates: a vendor's primary gaze stream over that same app's other streams
  (:func:`app.acquisition.vendor_layouts.pick_primary`), else the one whose channels map to the
  screen; if that leaves more than one, the error names them all and asks for ``--stream NAME``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import GazeDataError, PovLabError, TrackerError
from app.core.geometry import ScreenGeometry
from app.core.recorded_gaze import GAZE_STREAM_TYPES, RecordedGaze, flatten_desc
from app.formats.quiet import captured_logs


def _first(info: dict[str, Any], key: str, default: str = "") -> str:
    v = info.get(key) or [default]
    return str(v[0]) if v and v[0] is not None else default


def _channels_of(desc: Any) -> list[dict[str, str]]:
    try:
        entries = desc["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return []
    out = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict):
            return []
        out.append({k: str(v[0]).strip() if isinstance(v, list) and v and v[0] is not None else ""
                    for k, v in e.items()})
    return out


def describes_gaze(s: dict[str, Any]) -> bool:
    """Whether the stream's own description (metadata or a vendor layout) maps it onto the screen."""
    from app.acquisition.channels import resolve_channel_map

    info = s["info"]
    try:
        resolve_channel_map(_first(info, "name"), _n(s), _channels_of(_desc(s)), (1920, 1080),
                            desc=flatten_desc(_desc(s)), stream_type=_first(info, "type"))
    except TrackerError:
        return False
    return True


def _primary(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The vendor's primary gaze stream among its own other streams (Pupil Capture's three outlets), if any."""
    from app.acquisition.vendor_layouts import identify, pick_primary

    found = [(_first(s["info"], "hostname"), identify(_first(s["info"], "name"), _first(s["info"], "type"),
                                                      _channels_of(_desc(s)), flatten_desc(_desc(s))))
             for s in candidates]
    i = pick_primary(found)
    return None if i is None else candidates[i]


def _summary(s: dict[str, Any]) -> str:
    info = s["info"]
    return f"{_first(info, 'name')} ({_first(info, 'type') or 'no type'}, {_first(info, 'channel_count', '?')} ch)"


def _load(path: Path) -> list[dict[str, Any]]:
    import pyxdf

    with captured_logs("pyxdf") as logged, np.errstate(all="ignore"):  # damaged stamps are refused after
        try:
            streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=True, dejitter_timestamps=False)
        except Exception as exc:  # pyxdf raises many kinds on corrupt files; translated
            raise GazeDataError(f"{path}: not a readable XDF file ({type(exc).__name__}: {exc})") from exc
    errors = [text for level, text in logged if level >= logging.ERROR]
    if errors:
        raise GazeDataError(f"{path}: the XDF file is truncated or corrupt (pyxdf: {errors[0]})")
    return list(streams)


def read_xdf_gaze(path: Path, stream: str | None = None) -> RecordedGaze:
    streams = _load(path)
    listing = ", ".join(_summary(s) for s in streams) or "none"
    numeric = [s for s in streams if _first(s["info"], "channel_format", "float32") != "string"]
    if stream:
        chosen = [s for s in streams if stream in (_first(s["info"], "name"), _first(s["info"], "source_id"))]
        if not chosen:
            raise GazeDataError(f"{path}: no stream named {stream!r} (streams: {listing})")
        if len(chosen) > 1:
            joined = _join(chosen)
            if joined is None:
                raise GazeDataError(f"{path}: {len(chosen)} streams are named {stream!r} and do not continue each "
                                    "other; give a source_id instead")
            chosen = [joined]
        if _first(chosen[0]["info"], "channel_format") == "string":
            raise GazeDataError(f"{path}: stream {stream!r} holds strings ({_summary(chosen[0])}), not gaze samples")
    else:
        chosen = [s for s in numeric if _first(s["info"], "type").strip().lower() in GAZE_STREAM_TYPES]
        if not chosen:
            chosen = [s for s in numeric if describes_gaze(s)]
        if not chosen:
            raise GazeDataError(f"{path}: no gaze stream (streams: {listing}); a gaze stream has type Gaze or "
                                "ScreenX/ScreenY channels; choose one with --stream NAME")
        joined = _join(chosen) if len(chosen) > 1 else None
        if joined is not None:
            chosen = [joined]
        if len(chosen) > 1:
            primary = _primary(chosen)
            mapped = [primary] if primary is not None else [s for s in chosen if describes_gaze(s)]
            if len(mapped) != 1:
                names = ", ".join(_summary(s) for s in chosen)
                raise GazeDataError(f"{path}: several gaze streams ({names}); choose one with --stream NAME")
            chosen = mapped
    return _recorded(path, chosen[0])


def _join(parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One stream from the parts of a tracker that came back during the recording (a new stream each time:
    same name, channels and format, one after the other in time), or None if they are not that."""
    keys = {(_first(s["info"], "name"), _n(s), _first(s["info"], "channel_format")) for s in parts}
    if len(keys) != 1:
        return None
    full = sorted((s for s in parts if len(s["time_stamps"])), key=lambda s: float(s["time_stamps"][0]))
    if not full:
        return parts[0]
    if any(float(a["time_stamps"][-1]) >= float(b["time_stamps"][0]) for a, b in zip(full, full[1:], strict=False)):
        return None
    try:
        data = np.concatenate([np.asarray(s["time_series"], dtype=np.float64) for s in full])
    except (TypeError, ValueError):
        return None
    info = dict(full[0]["info"])
    info["povlab_parts"] = [str(len(full))]
    return {"info": info, "time_series": data, "time_stamps": np.concatenate([s["time_stamps"] for s in full])}


def _n(s: dict[str, Any]) -> int:
    try:
        return int(_first(s["info"], "channel_count", "0"))
    except ValueError:
        return 0


def _desc(s: dict[str, Any]) -> dict[str, Any]:
    desc = s["info"].get("desc") or [None]
    return desc[0] if isinstance(desc[0], dict) else {}


def _recorded(path: Path, s: dict[str, Any]) -> RecordedGaze:
    info = s["info"]
    name = _first(info, "name")
    try:
        data = np.asarray(s["time_series"], dtype=np.float64)
        ts = np.asarray(s["time_stamps"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GazeDataError(f"{path}: stream {name!r} does not hold numbers ({exc})") from exc
    if ts.size == 0 or data.size == 0:
        raise GazeDataError(f"{path}: stream {name!r} has no samples")
    if data.ndim == 1:
        data = data[:, None]
    try:
        rate = float(_first(info, "nominal_srate", "0"))
    except ValueError:
        rate = 0.0
    if not (np.isfinite(rate) and rate >= 0):
        raise GazeDataError(f"{path}: stream {name!r} has a nominal rate of {rate!r}")
    notes = []
    parts = int(_first(info, "povlab_parts", "1"))
    if parts > 1:
        notes.append(f"stream {name!r} is recorded in {parts} parts (the tracker came back {parts - 1} times); "
                     "read as one, the gaps between them as gaps")
    order = np.argsort(ts, kind="stable")
    if np.any(np.diff(ts) < 0):
        notes.append(f"stream {name!r}: {int(np.sum(np.diff(ts) < 0))} time stamps out of order; samples sorted")
        ts, data = ts[order], data[order]
    screen, geometry = _screen(flatten_desc(_desc(s)))
    return RecordedGaze(path, "xdf", name, _first(info, "type"), _first(info, "source_id"), rate,
                        _first(info, "channel_format", "float32"), _desc(s), ts, data, screen_px=screen,
                        geometry=geometry, notes=tuple(notes))


def _screen(flat: dict[str, str]) -> tuple[tuple[int, int] | None, ScreenGeometry | None]:
    """``desc/screen`` as POV Lab's streams write it (width_px, height_px, width_cm, height_cm, distance_cm)."""
    try:
        w, h = int(flat["screen/width_px"]), int(flat["screen/height_px"])
    except (KeyError, ValueError):
        return None, None
    if not (0 < w <= 100_000 and 0 < h <= 100_000):
        return None, None
    try:
        return (w, h), ScreenGeometry(w, h, float(flat["screen/width_cm"]), float(flat["screen/height_cm"]),
                                      float(flat["screen/distance_cm"]))
    except (KeyError, ValueError, PovLabError):
        return (w, h), None
