"""EyeLink ASC files (SR Research's ``edf2asc`` text export) as a :class:`RecordedGaze`.

Read from the file (EyeLink 1000 Plus user manual, "ASC file format"; edf2asc's defaults):

- ``SAMPLES GAZE LEFT|RIGHT|LEFT RIGHT RATE <hz> ... [VEL] [RES] [INPUT]`` before each block:
  which eyes the sample lines hold and the sampling rate; HREF or PUPIL samples are refused
  (not screen positions);
- sample lines ``<time ms> <x> <y> <pupil> [<x> <y> <pupil>] ...`` (monocular or binocular,
  positions first whatever else follows), ``.`` where the eye was lost;
- ``MSG <t> GAZE_COORDS l t r b`` (else ``DISPLAY_COORDS``): the screen in pixels;
- ``EFIX``/``ESACC``/``EBLINK <eye> <start> <end> ...``: EyeLink's online parser's events.

Times are the tracker's clock in seconds (ms / 1000), pauses between blocks kept. A file that
ends in the middle of a line is taken as truncated and refused.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from app.core.errors import GazeDataError
from app.core.recorded_gaze import RecordedGaze, VendorEvent, channel_desc

_EVENTS = {"EFIX": "fixation", "ESACC": "saccade", "EBLINK": "blink"}
_EYES = {"L": "left", "R": "right"}


def _num(tok: str) -> float:
    return math.nan if tok == "." else float(tok)


def _coords(parts: list[str]) -> tuple[int, int] | None:
    try:
        left, top, right, bottom = (float(v) for v in parts[-4:])
    except ValueError:
        return None
    if right <= left or bottom <= top:
        return None
    return int(round(right - left + 1)), int(round(bottom - top + 1))


def read_asc(path: Path) -> RecordedGaze:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GazeDataError(f"{path}: cannot read ({exc})") from exc
    if not raw.strip():
        raise GazeDataError(f"{path}: the file is empty")
    if b"\0" in raw[:4096]:
        raise GazeDataError(f"{path}: not an EyeLink ASC file (binary content; an .edf file must be named .edf)")
    if not raw.endswith(b"\n"):
        raise GazeDataError(f"{path}: the file ends in the middle of a line: truncated (convert the EDF again)")
    text = raw.decode("latin-1")
    eyes: tuple[str, ...] = ()
    all_eyes: set[str] = set()
    rate = 0.0
    rates: set[float] = set()
    gaze_coords = display_coords = None
    t_list: list[float] = []
    rows: dict[str, list[float]] = {f"{e}_{q}": [] for e in ("left", "right") for q in ("x", "y", "pupil")}
    events: list[VendorEvent] = []
    seen_header = False
    for no, line in enumerate(text.splitlines(), start=1):
        if not line or line.isspace():
            continue
        c = line[0]
        if c.isdigit():
            if not eyes:
                raise GazeDataError(f"{path}: line {no}: a sample before any SAMPLES line (which eye, which rate?)")
            parts = line.split()
            need = 1 + 3 * len(eyes)
            if len(parts) < need:
                raise GazeDataError(f"{path}: line {no}: a sample with {len(parts)} fields, expected at least {need}")
            try:
                stamp = float(parts[0])
                vals = [_num(v) for v in parts[1:need]]
            except ValueError as exc:
                raise GazeDataError(f"{path}: line {no}: not a sample line ({exc})") from exc
            t_list.append(stamp)
            for e in ("left", "right"):
                if e in eyes:
                    k = 3 * eyes.index(e)
                    rows[f"{e}_x"].append(vals[k])
                    rows[f"{e}_y"].append(vals[k + 1])
                    rows[f"{e}_pupil"].append(vals[k + 2])
                else:
                    for q in ("x", "y", "pupil"):
                        rows[f"{e}_{q}"].append(math.nan)
            continue
        parts = line.split()
        key = parts[0]
        if key == "**":
            seen_header = True
        elif key == "SAMPLES":
            words = {p.upper() for p in parts[1:]}
            if "GAZE" not in words:
                kind = "HREF" if "HREF" in words else "PUPIL" if "PUPIL" in words else " ".join(parts[1:2])
                raise GazeDataError(f"{path}: line {no}: the samples are {kind} data, not gaze on the screen; "
                                    "convert the EDF with edf2asc's default (gaze) samples")
            eyes = tuple(e for w, e in (("LEFT", "left"), ("RIGHT", "right")) if w in words)
            if not eyes:
                raise GazeDataError(f"{path}: line {no}: SAMPLES names no eye (LEFT/RIGHT)")
            all_eyes.update(eyes)
            try:
                rate = float(parts[[p.upper() for p in parts].index("RATE") + 1])
            except (ValueError, IndexError) as exc:
                raise GazeDataError(f"{path}: line {no}: SAMPLES without a readable RATE") from exc
            rates.add(rate)
        elif key == "MSG" and len(parts) >= 7 and parts[2] in ("GAZE_COORDS", "DISPLAY_COORDS"):
            found = _coords(parts)
            if parts[2] == "GAZE_COORDS":
                gaze_coords = gaze_coords or found
            else:
                display_coords = display_coords or found
        elif key in _EVENTS and len(parts) >= 4 and parts[1] in _EYES:
            try:
                start, end = float(parts[2]) / 1000.0, float(parts[3]) / 1000.0
                events.append(VendorEvent(_EVENTS[key], _EYES[parts[1]], start, end))
            except (ValueError, GazeDataError) as exc:
                raise GazeDataError(f"{path}: line {no}: malformed {key} line ({exc})") from exc
    if not t_list:
        what = "an EyeLink ASC export without samples (edf2asc -e?)" if seen_header or eyes else "not an EyeLink ASC file"
        raise GazeDataError(f"{path}: no samples: {what}")
    if not rate > 0:
        raise GazeDataError(f"{path}: SAMPLES gives no positive RATE")
    present = [e for e in ("left", "right") if e in all_eyes]
    cols, chans = [], []
    for e in present:
        for q, ctype in (("x", "ScreenX"), ("y", "ScreenY"), ("pupil", "Diameter")):
            cols.append(rows[f"{e}_{q}"])
            chans.append({"label": f"{e}_{q}", "eye": e, "type": ctype,
                          "unit": "arbitrary" if q == "pupil" else "pixels"})
    t = np.asarray(t_list) / 1000.0
    data = np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])
    notes = []
    if len(rates) > 1:
        notes.append(f"blocks recorded at several rates ({', '.join(f'{r:g}' for r in sorted(rates))} Hz); "
                     f"nominal rate taken from the last: {rate:g} Hz")
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, data = t[order], data[order]
        notes.append("sample times out of order; sorted")
    screen = gaze_coords or display_coords
    if screen is None:
        notes.append("no GAZE_COORDS or DISPLAY_COORDS message; screen size unknown")
    desc = channel_desc(chans, acquisition={"manufacturer": ["SR Research"]})
    return RecordedGaze(path, "asc", f"EyeLink {path.stem}", "Gaze", f"asc:{path.name}", rate, "float32", desc,
                        t, data, screen_px=screen, events=tuple(sorted(events, key=lambda e: e.onset)),
                        notes=tuple(notes))
