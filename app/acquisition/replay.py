"""Replay a recorded gaze stream on LSL in real time, with its original timing and metadata.

Any gaze file POV Lab reads (:func:`app.formats.gazefile.read_recording`: XDF, EyeLink EDF and
ASC, CSV, BIDS physio) can be replayed. Its channels are first mapped onto the screen with the
acquisition's rules (:func:`app.formats.gazefile.map_recording`), so a file that cannot be mapped
fails before anything is published. Then:

- when the file's own description maps it (Gaze Meta-Data, a vendor layout recognised from the
  labels; EDF, ASC, CSV and BIDS files are given Gaze Meta-Data by their readers), the stream is
  republished as recorded: name, type, rate, format and whole ``desc`` tree;
- when it took ``--channels``/``--preset`` or an inferred layout (two channels without
  metadata), the mapped gaze is published instead, in screen pixels with Gaze Meta-Data, so that
  ``streams --check`` and ``run --tracker lsl:`` map it without flags.

Sample ``i`` is published at ``start + (t_i - t_0) / speed`` on this machine's LSL clock and
stamped with that time, so the intervals between samples are those of the recording.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import TrackerError
from app.core.recorded_gaze import RecordedGaze

F64 = np.ndarray
__all__ = ["RecordedGaze", "Replayer", "load_recording", "prepare_replay"]


def load_recording(path: str | Path, stream_name: str | None = None) -> RecordedGaze:
    """The gaze recording of any file POV Lab reads (chosen by the file name)."""
    from app.formats.gazefile import read_recording

    return read_recording(path, stream=stream_name)


def prepare_replay(path: str | Path, stream: str | None = None, mapping: str | None = None,
                   preset: str | None = None, screen_px: tuple[int, int] | None = None) -> tuple[RecordedGaze, str]:
    """What to publish for ``path`` and one line saying how it maps (see the module's docstring)."""
    from app.formats.gazefile import as_screen_gaze, map_recording

    rec = load_recording(path, stream)
    mapped = map_recording(rec, mapping, preset, screen_px)
    out = as_screen_gaze(mapped) if (mapping or preset or mapped.inferred) else rec
    how = ("published in screen pixels" if out is not rec else "published as recorded") + \
        f", channel map from {mapped.how}"
    if not out.rate_hz > 0 and len(out.time_stamps) > 1:
        step = float(np.median(np.diff(out.time_stamps)))
        if step > 0:
            out = replace(out, rate_hz=round(1.0 / step, 3))
    return out, how


def _append_desc(node: Any, tree: dict[str, Any]) -> None:
    for key, values in tree.items():
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict):
                _append_desc(node.append_child(key), v)
            elif v is None:
                node.append_child(key)
            else:
                node.append_child_value(key, str(v))


MIN_SPEED, MAX_SPEED = 0.01, 100.0  # --speed 1e-9 would replay a minute in two thousand years


class Replayer:
    """Publishes a :class:`RecordedGaze` on LSL; :meth:`run` blocks until done or stopped."""

    def __init__(self, recording: RecordedGaze, source_id: str | None = None, speed: float = 1.0,
                 chunk_s: float = 0.01) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:  # also false for NaN
            raise TrackerError(f"replay speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, got {speed}")
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
