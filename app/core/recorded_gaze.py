"""A gaze recording read from a file, whatever the file's format: the one type every reader returns.

Readers in :mod:`app.formats` (XDF, EyeLink EDF and ASC, CSV, BIDS physio) give a
:class:`RecordedGaze`: the tracker's channels as recorded (``data``, one column per channel),
their time stamps in seconds, and the stream's description as an LSL ``desc`` tree whose
``channels`` follow the XDF Gaze Meta-Data (label, eye, type ScreenX/ScreenY/Diameter/Confidence,
unit). ``povlab detect`` maps the channels to screen pixels with the same channel-map rules as
the live acquisition; ``povlab replay`` publishes them on LSL as they are. Where the file says
so, it also carries the screen (pixels, geometry) and the tracker's own online events
(EyeLink's parser: EFIX/ESACC/EBLINK).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.geometry import ScreenGeometry

F64 = NDArray[np.float64]
# stream types that hold gaze (LSL apps of the manufacturers and the XDF Gaze Meta-Data)
GAZE_STREAM_TYPES = ("gaze", "eyetracker", "eyetracking", "eye_tracker", "eye-tracker", "et")
VENDOR_EVENT_KINDS = ("fixation", "saccade", "blink")


@dataclass(frozen=True)
class VendorEvent:
    """An event the tracker's own software found (EyeLink's online parser), in the recording's seconds.

    ``onset`` is the time of the event's first sample, ``last`` the time of its last sample.
    """

    kind: str  # fixation | saccade | blink
    eye: str  # left | right
    onset: float
    last: float

    def __post_init__(self) -> None:
        if self.kind not in VENDOR_EVENT_KINDS:
            raise GazeDataError(f"tracker event: kind must be one of {VENDOR_EVENT_KINDS}, got {self.kind!r}")
        if self.eye not in ("left", "right"):
            raise GazeDataError(f"tracker event: eye must be left or right, got {self.eye!r}")
        if not (np.isfinite(self.onset) and np.isfinite(self.last)) or self.last < self.onset:
            raise GazeDataError(f"tracker event: need finite onset <= last, got {self.onset!r}, {self.last!r}")


def channel_desc(channels: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """A pyxdf-style ``desc`` tree (key -> list of values) with Gaze Meta-Data channels."""
    tree: dict[str, Any] = {"channels": [{"channel": [{k: [v] for k, v in ch.items()} for ch in channels]}]}
    for key, value in extra.items():
        tree[key] = [value if isinstance(value, dict) else str(value)]
    return tree


def flatten_desc(tree: Any) -> dict[str, str]:
    """A pyxdf-style ``desc`` tree as flat ``a/b/c -> text`` values, as the channel-map rules read a stream header."""
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str, depth: int) -> None:
        if not isinstance(node, dict):
            return
        for key, values in node.items():
            if key == "channels" and not prefix:
                continue
            for v in values if isinstance(values, list) else [values]:
                if isinstance(v, dict):
                    if depth < 3:
                        walk(v, f"{prefix}{key}/", depth + 1)
                else:
                    flat.setdefault(f"{prefix}{key}", "" if v is None else str(v).strip())

    walk(tree, "", 0)
    return flat


@dataclass(frozen=True, eq=False)
class RecordedGaze:
    """The gaze channels of one recording, as the file holds them (see the module's docstring)."""

    path: Path
    format: str  # xdf | edf | asc | csv | bids
    name: str
    type: str
    source_id: str
    rate_hz: float  # nominal rate; 0 when irregular or unknown
    channel_format: str  # LSL format name of the samples (float32, double64, ...)
    desc: dict[str, Any]  # pyxdf-style tree: key -> list of str | dict | None
    time_stamps: F64  # (n,) seconds, increasing
    data: F64  # (n, channels)
    screen_px: tuple[int, int] | None = None  # from the file (EyeLink GAZE_COORDS/DISPLAY_COORDS, sidecars)
    geometry: ScreenGeometry | None = None  # physical screen, where the file says (BIDS sidecars)
    events: tuple[VendorEvent, ...] = field(default_factory=tuple)  # the tracker's own parser events
    notes: tuple[str, ...] = ()  # what the reader had to assume or repair, one line each

    def __post_init__(self) -> None:
        if self.data.ndim != 2 or self.time_stamps.ndim != 1 or len(self.time_stamps) != self.data.shape[0]:
            raise GazeDataError(f"{self.path}: samples and time stamps do not match "
                                f"({self.data.shape} samples, {self.time_stamps.shape} time stamps)")
        if len(self.time_stamps) == 0:
            raise GazeDataError(f"{self.path}: the recording holds no gaze samples")
        if not np.all(np.isfinite(self.time_stamps)):
            raise GazeDataError(f"{self.path}: time stamps must be finite numbers")
        if not (np.isfinite(self.rate_hz) and self.rate_hz >= 0):
            raise GazeDataError(f"{self.path}: sampling rate must be a non-negative number, got {self.rate_hz!r}")

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def channels(self) -> list[dict[str, str]]:
        """``desc/channels/channel`` as one plain dict per channel (label, eye, type, unit)."""
        try:
            entries = self.desc["channels"][0]["channel"]
        except (KeyError, IndexError, TypeError):
            return []
        out = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                return []
            out.append({k: str(v[0]).strip() if isinstance(v, list) and v and v[0] is not None else ""
                        for k, v in entry.items()})
        return out

    @property
    def flat_desc(self) -> dict[str, str]:
        """The ``desc`` values as ``path/to/key -> text`` (top-level ``channels`` left out, three levels deep)."""
        return flatten_desc(self.desc)

    @property
    def labels(self) -> list[str]:
        chans = self.channels
        return [c.get("label", "") for c in chans] if len(chans) == self.n_channels else []
