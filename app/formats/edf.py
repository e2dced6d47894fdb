"""EyeLink EDF files (SR Research's binary format) read through ``eyelinkio`` (ships edfapi in its wheel).

What comes out: gaze x/y in screen pixels (top-left origin) and pupil size of each recorded
eye, NaN where EyeLink lost the eye; the sampling rate from the file's ``!MODE RECORD`` line;
the screen's pixels from ``GAZE_COORDS`` (else ``DISPLAY_COORDS``); and the fixations,
saccades and blinks of EyeLink's online parser (EFIX/ESACC/EBLINK). eyelinkio numbers the
samples from 0 at the nominal rate, so the pauses between recording blocks (between END and
the next START) are dropped: times are seconds from the first sample of the file.

edfapi runs in a child process (:mod:`app.formats.edf_worker`): it prints on stdout and can
crash on a damaged file, and neither must reach the user or kill the caller.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from app.core.errors import GazeDataError
from app.core.recorded_gaze import RecordedGaze, VendorEvent, channel_desc

MAGIC = b"SR_RESEARCH"
TIMEOUT_S = 600.0
_FIELDS = {"xpos": ("x", "ScreenX"), "ypos": ("y", "ScreenY"), "ps": ("pupil", "Diameter")}
_KINDS = {"fixations": "fixation", "saccades": "saccade", "blinks": "blink"}


def _run_worker(path: Path, out: Path) -> list[str]:
    """Run the child; returns what edfapi printed on a successful read (its warnings), raises otherwise."""
    import app

    root = str(Path(app.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    try:
        proc = subprocess.run([sys.executable, "-m", "app.formats.edf_worker", str(path), str(out)],
                              capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as exc:
        raise GazeDataError(f"{path}: reading the EDF file took more than {TIMEOUT_S:g} s; is it damaged?") from exc
    except OSError as exc:
        raise GazeDataError(f"{path}: cannot start the EDF reader ({exc})") from exc
    lib = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip() and not ln.startswith("loadEvents")]
    if proc.returncode == 0:
        return lib
    own = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    said = lib + own  # the worker's own line last
    if proc.returncode == 3:
        last = own[-1] if own else "no message"
        detail = f"; edfapi: {lib[-1]}" if lib else ""
        raise GazeDataError(f"{path}: not a readable EDF file, truncated or corrupt (eyelinkio: {last}{detail})")
    if proc.returncode == 5:
        raise GazeDataError(f"{path}: the EDF file holds no samples (events only, or an empty recording); "
                            "record with samples in the file (file_sample_data)")
    if proc.returncode == 4:
        raise GazeDataError(f"{path}: the EDF file ends inside a recording block (the block has no end): "
                            "truncated or damaged; copy it from the Host PC again")
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"status {proc.returncode}"
    hint = f"; it said: {said[-1]}" if said else ""
    raise GazeDataError(f"{path}: the EDF library failed on this file ({how}): truncated or corrupt{hint}")


def read_edf(path: Path) -> RecordedGaze:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC))
    except OSError as exc:
        raise GazeDataError(f"{path}: cannot read ({exc})") from exc
    if not head:
        raise GazeDataError(f"{path}: the file is empty")
    if head != MAGIC:
        raise GazeDataError(f"{path}: not an EyeLink EDF file (it does not start with {MAGIC.decode()})")
    with tempfile.TemporaryDirectory(prefix="povlab-edf-") as tmp:
        out = Path(tmp) / "edf.npz"
        printed = _run_worker(path, out)
        try:
            with np.load(out, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise GazeDataError(f"{path}: the EDF reader wrote no usable output ({exc})") from exc
    rec = _recorded(path, d)
    if printed:
        from dataclasses import replace

        more = f" (and {len(printed) - 1} more)" if len(printed) > 1 else ""
        rec = replace(rec, notes=(*rec.notes, f"edfapi: {printed[0]}{more}: the file may be damaged"))
    return rec


def _eye_of(field: str, recorded: str) -> str:
    if field.endswith("_left"):
        return "left"
    if field.endswith("_right"):
        return "right"
    return "right" if "RIGHT" in recorded.upper() else "left"


def _recorded(path: Path, d: dict[str, np.ndarray]) -> RecordedGaze:
    samples, times = d["samples"], d["times"]
    fields = [str(f) for f in d["fields"].tolist()]
    if samples.ndim != 2 or samples.shape[1] == 0 or len(times) == 0:
        raise GazeDataError(f"{path}: the EDF file holds no samples (events only, or an empty recording)")
    if samples.shape[0] != len(fields) or samples.shape[1] != len(times):
        raise GazeDataError(f"{path}: the EDF reader returned {samples.shape} samples for {len(fields)} fields")
    rate = float(d["sfreq"])
    if not (np.isfinite(rate) and rate > 0):
        raise GazeDataError(f"{path}: the EDF file gives no sampling rate")
    recorded = str(d["eye"])
    pupil_unit = {"PUPIL_AREA": "area (arbitrary units)", "PUPIL_DIAMETER": "diameter (arbitrary units)"}.get(
        str(d["ps_units"]), "arbitrary")
    cols, chans = [], []
    for i, f in enumerate(fields):
        base = f.removesuffix("_left").removesuffix("_right")
        if base not in _FIELDS:
            continue
        eye = _eye_of(f, recorded)
        what, ctype = _FIELDS[base]
        cols.append(i)
        chans.append({"label": f"{eye}_{what}", "eye": eye, "type": ctype,
                      "unit": pupil_unit if what == "pupil" else "pixels"})
    if not any(c["type"] == "ScreenX" for c in chans):
        raise GazeDataError(f"{path}: the EDF samples hold no gaze positions (fields: {', '.join(fields)}); "
                            "record with GAZE samples (file_sample_data)")
    data = samples[cols].T.copy()
    screen = None
    for key in ("screen", "display"):
        v = d[key]
        if key == "screen" and v.size == 2 and np.all(v > 0):
            screen = (int(v[0]), int(v[1]))
        elif key == "display" and v.size == 4 and screen is None and v[2] > v[0] and v[3] > v[1]:
            screen = (int(round(v[2] - v[0] + 1)), int(round(v[3] - v[1] + 1)))
        if screen is not None:
            break
    notes = () if screen else ("the EDF file has no GAZE_COORDS or DISPLAY_COORDS message; screen size unknown",)
    events = []
    for key, kind in _KINDS.items():
        for eye, start, end in d[key].tolist():
            if np.isfinite(start) and np.isfinite(end) and end >= start and eye in (0.0, 1.0):
                events.append(VendorEvent(kind, "left" if eye == 0 else "right", float(start), float(end)))
    events.sort(key=lambda e: e.onset)
    name = str(d["camera"]) or "EyeLink"
    desc = channel_desc(chans, acquisition={"manufacturer": ["SR Research"], "model": [str(d["version"])],
                                            "camera": [name]})
    return RecordedGaze(path, "edf", f"EyeLink {path.stem}", "Gaze", f"edf:{path.name}", rate, "float32", desc,
                        np.asarray(times, dtype=np.float64), data, screen_px=screen, events=tuple(events), notes=notes)
