"""Gaze files from any tool: one entry point to read them, one to map their channels onto the screen.

:func:`read_recording` picks the reader by the file's name and returns a
:class:`~app.core.recorded_gaze.RecordedGaze`:

- ``.xdf``/``.xdfz``: LabRecorder or any LSL app (:mod:`app.formats.xdf_gaze`; ``stream`` chooses);
- ``.edf``: EyeLink EDF (:mod:`app.formats.edf`, through eyelinkio);
- ``.asc``: EyeLink ASC (:mod:`app.formats.asc`);
- ``.csv``: a header starting ``time,x,y`` (seconds; screen pixels from the top-left corner;
  an empty cell or ``NaN`` in x/y is track loss; the rate may be uneven);
- ``*_physio.tsv[.gz]`` (or its ``.json``): BIDS eye-tracking physio (:mod:`app.formats.bids_physio_reader`).

:func:`map_recording` turns its channels into screen pixels with the acquisition's channel-map
rules (``--channels``, ``--preset``, Gaze Meta-Data, vendor layouts recognised from the
labels), so ``detect``, ``replay`` and ``run --tracker replay:`` read a file the same way. A
gaze stream of two channels without any metadata (a LabRecorder file of a simple tracker: no
channel descriptions, no vendor app recognised) is taken as x, y of one eye; its unit (0..1 of
the screen or pixels) is read from the values. A stream
whose type is not gaze and whose channels say nothing of gaze is refused.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.acquisition.channels import ChannelMap, resolve_channel_map
from app.acquisition.vendor_layouts import identify
from app.core.errors import GazeDataError, TrackerError
from app.core.gaze import GazeBlock
from app.core.recorded_gaze import GAZE_STREAM_TYPES, RecordedGaze, channel_desc
from app.formats.bids_physio_reader import number_cell

DEFAULT_SCREEN_PX = (1920, 1080)
READABLE = ".xdf, .edf, .asc, .csv (time,x,y) or a BIDS *_physio.tsv[.gz] with its JSON sidecar"


def read_csv(path: Path) -> RecordedGaze:
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
                t.append(number_cell(row[0], path, line, "time", False))
                x.append(number_cell(row[1], path, line, "x", True))
                y.append(number_cell(row[2], path, line, "y", True))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GazeDataError(f"{path}: cannot read the CSV ({exc})") from exc
    if not t:
        raise GazeDataError(f"{path}: no samples after the header")
    desc = channel_desc([{"label": "x", "eye": "", "type": "ScreenX", "unit": "pixels"},
                         {"label": "y", "eye": "", "type": "ScreenY", "unit": "pixels"}])
    return RecordedGaze(path, "csv", path.stem, "Gaze", f"csv:{path.name}", 0.0, "double64", desc,
                        np.asarray(t, dtype=np.float64), np.column_stack([x, y]).astype(np.float64))


MAX_RATE_HZ = 100_000.0
MAX_VALUE = 1e9  # any channel: gaze pixels, pupil units (1e308 made I-DT overflow and events.tsv 300 digits long)
MAX_TIME_S = 1e12  # seconds (since 1970 is 1.8e9)


def check_rate(rate: float, what: str) -> float:
    """A sampling rate: a finite number above 0 and at most :data:`MAX_RATE_HZ` (``--rate inf`` is refused)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= MAX_RATE_HZ:
        raise GazeDataError(f"{what} must be a rate above 0 and at most {MAX_RATE_HZ:g} Hz, got {rate!r}")
    return float(rate)


def check_recording(rec: RecordedGaze) -> RecordedGaze:
    """Every reader's result, checked once: finite times within :data:`MAX_TIME_S`, values NaN or within
    :data:`MAX_VALUE`, a rate of 0 (irregular) to :data:`MAX_RATE_HZ`."""
    t = np.asarray(rec.time_stamps, dtype=np.float64)
    if len(t) and not (np.all(np.isfinite(t)) and float(np.max(np.abs(t))) <= MAX_TIME_S):
        bad = int(np.argmax(~np.isfinite(t) | (np.abs(np.nan_to_num(t, nan=np.inf)) > MAX_TIME_S)))
        raise GazeDataError(f"{rec.path}: sample {bad + 1}: time {float(t[bad])!r} is not a finite number of seconds "
                            f"within {MAX_TIME_S:g}")
    data = np.asarray(rec.data, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        outside = np.abs(data) > MAX_VALUE
    if data.size and bool(np.any(outside | np.isinf(data))):
        row = int(np.argmax(np.any(outside | np.isinf(data), axis=1)))
        raise GazeDataError(f"{rec.path}: sample {row + 1}: a value beyond {MAX_VALUE:g} (not a gaze position or "
                            "pupil size)")
    if not (math.isfinite(rec.rate_hz) and 0 <= rec.rate_hz <= MAX_RATE_HZ):
        raise GazeDataError(f"{rec.path}: nominal rate {rec.rate_hz!r} Hz; expected 0 (irregular) to "
                            f"{MAX_RATE_HZ:g}")
    return rec


def read_recording(path: str | Path, stream: str | None = None, rate: float | None = None) -> RecordedGaze:
    """The gaze recording in ``path`` (its kind from the name; see the module's docstring), values checked."""
    if rate is not None:
        check_rate(rate, "--rate")
    return check_recording(_read_recording(path, stream, rate))


def _read_recording(path: str | Path, stream: str | None = None, rate: float | None = None) -> RecordedGaze:
    p = Path(path)
    if not p.is_file():
        raise GazeDataError(f"{p}: file not found")
    name = p.name.lower()
    if stream and not name.endswith((".xdf", ".xdfz")):
        raise GazeDataError(f"{p}: --stream chooses a stream of an XDF file; this is not one")
    if name.endswith((".xdf", ".xdfz")):
        from app.formats.xdf_gaze import read_xdf_gaze

        return read_xdf_gaze(p, stream)
    if name.endswith(".edf"):
        from app.formats.edf import read_edf

        return read_edf(p)
    if name.endswith(".asc"):
        from app.formats.asc import read_asc

        return read_asc(p)
    if name.endswith(".csv"):
        return read_csv(p)
    if name.endswith((".tsv", ".tsv.gz", ".json")):
        from app.formats.bids_physio_reader import read_bids_physio

        return read_bids_physio(p, rate)
    raise GazeDataError(f"{p}: not a gaze file POV Lab reads; expected {READABLE}")


@dataclass(frozen=True, eq=False)
class MappedRecording:
    """A recording's gaze in screen pixels: the averaged eyes as a block, each eye, and how it was mapped."""

    recording: RecordedGaze
    channel_map: ChannelMap
    block: GazeBlock  # x, y: the mean of the eyes present (NaN where both are lost)
    eyes: dict[str, GazeBlock]  # left / right, each eye on its own
    screen_px: tuple[int, int]
    how: str  # one line: where the channel map came from

    @property
    def inferred(self) -> bool:
        return self.how.startswith("inferred")


def _infer_two_channels(rec: RecordedGaze, screen_px: tuple[int, int]) -> tuple[ChannelMap, str]:
    finite = rec.data[np.isfinite(rec.data).all(axis=1)]
    if len(finite) == 0:
        raise GazeDataError(f"{rec.path}: stream {rec.name!r}: no finite samples to tell its unit from")
    lo, hi = np.percentile(finite, [1, 99], axis=0)
    if np.all(lo >= -0.5) and np.all(hi <= 1.5):
        unit, what = "normalized", "0..1 of the screen"
    elif np.all(hi > 2.0):
        unit, what = "pixels", "pixels"
    else:
        raise GazeDataError(f"{rec.path}: stream {rec.name!r} has 2 channels without metadata whose values "
                            f"({lo.round(2).tolist()}..{hi.round(2).tolist()}) are neither 0..1 nor pixels; "
                            "give --channels left_x=0,left_y=1,unit=pixels|normalized")
    cmap = ChannelMap(n_channels=2, left_x=0, left_y=1, unit=unit, screen_px=screen_px, source="inferred")
    return cmap, f"inferred: 2 channels without metadata taken as x, y in {what}"


def resolve_map(rec: RecordedGaze, mapping: str | None = None, preset: str | None = None,
                screen_px: tuple[int, int] | None = None) -> tuple[ChannelMap, str]:
    """The channel map of a recording and one line saying where it came from."""
    screen = screen_px or rec.screen_px or DEFAULT_SCREEN_PX
    chans = rec.channels
    gaze_typed = rec.type.strip().lower() in GAZE_STREAM_TYPES
    try:
        cmap = resolve_channel_map(rec.name, rec.n_channels, chans, screen, mapping=mapping, preset_name=preset,
                                   desc=rec.flat_desc, stream_type=rec.type)
    except TrackerError as exc:
        described = any(c.get("type", "").lower() in ("screenx", "screeny") for c in chans)
        bare = not any(v for c in chans for v in c.values()) and identify(rec.name, rec.type, chans,
                                                                          rec.flat_desc) is None
        if mapping or preset or described or rec.n_channels != 2 or not gaze_typed or not bare:
            if not gaze_typed and not (mapping or preset or described):
                raise GazeDataError(f"{rec.path}: stream {rec.name!r} (type {rec.type or 'none'}, "
                                    f"{rec.n_channels} channels) is not a gaze stream; choose the gaze stream "
                                    "with --stream NAME, or map its channels with --channels") from exc
            raise GazeDataError(f"{rec.path}: {exc}") from exc
        return _infer_two_channels(rec, screen)
    how = {"explicit": "explicit (--channels)", "metadata": "the file's channel metadata"}.get(cmap.source, cmap.source)
    return cmap, how


def map_recording(rec: RecordedGaze, mapping: str | None = None, preset: str | None = None,
                  screen_px: tuple[int, int] | None = None) -> MappedRecording:
    """The recording's gaze in screen pixels (NaN where lost), mapped as the live acquisition maps a stream."""
    cmap, how = resolve_map(rec, mapping, preset, screen_px)
    try:
        mapped = cmap.apply(rec.data)
    except TrackerError as exc:
        raise GazeDataError(f"{rec.path}: {exc}") from exc
    t = rec.time_stamps
    eyes = {e: GazeBlock(t, getattr(mapped, f"{e}_x"), getattr(mapped, f"{e}_y"), np.full(len(t), np.nan))
            for e in cmap.eyes}
    block = GazeBlock(t, mapped.x, mapped.y, mapped.pupil)
    return MappedRecording(rec, cmap, block, eyes, cmap.screen_px, how)


def as_screen_gaze(mapped: MappedRecording) -> RecordedGaze:
    """The mapped gaze as a recording of its own: per eye x, y in screen pixels (Gaze Meta-Data), then the pupil.

    What ``replay`` publishes when the file's own description does not say how to map it (an
    explicit ``--channels``/``--preset``, or an inferred layout), so that any receiver maps it
    without flags.
    """
    from dataclasses import replace

    rec, cmap = mapped.recording, mapped.channel_map
    cols, chans = [], []
    for eye in cmap.eyes:
        block = mapped.eyes[eye]
        cols += [block.x, block.y]
        chans += [{"label": f"{eye}_x", "eye": eye, "type": "ScreenX", "unit": "pixels"},
                  {"label": f"{eye}_y", "eye": eye, "type": "ScreenY", "unit": "pixels"}]
    if np.isfinite(mapped.block.pupil).any():
        cols.append(mapped.block.pupil)
        chans.append({"label": "pupil", "eye": "", "type": "Diameter", "unit": "arbitrary"})
    w, h = mapped.screen_px
    desc = channel_desc(chans, screen={"width_px": [str(w)], "height_px": [str(h)]},
                        mapped={"from": [mapped.how], "original_channels": [str(rec.n_channels)]})
    return replace(rec, channel_format="double64", desc=desc, data=np.column_stack(cols), screen_px=(w, h))
