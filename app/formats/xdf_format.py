"""XDF 1.0 container: chunk tags, stream objects, and writing whole streams back to a file.

Format reference: the XDF specification, https://github.com/sccn/xdf/wiki/Specifications
(magic ``XDF:``; chunks ``[NumLengthBytes][Length][Tag][Content]``; tags 1 FileHeader,
2 StreamHeader, 3 Samples, 4 ClockOffset, 5 Boundary, 6 StreamFooter). Chunks are written by
the recorder's own append-only ``xdf_writer.XdfWriter``; :func:`write_streams` uses it to
rewrite a recovered file so that any XDF reader (pyxdf, MATLAB's load_xdf, MNE) opens it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

from app.core.errors import RecordingError
from app.formats.xdf_writer import BOUNDARY_UUID, XdfWriter

MAGIC = b"XDF:"
TAG_FILE_HEADER, TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_BOUNDARY, TAG_STREAM_FOOTER = 1, 2, 3, 4, 5, 6
# BOUNDARY_UUID (re-exported from xdf_writer): the 16 bytes every boundary chunk carries; readers scan for it.
__all__ = ["BOUNDARY_UUID", "MAGIC", "NUMERIC_FORMATS", "XdfStream", "stream_header_xml", "write_streams"]

NUMERIC_FORMATS: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"), "double64": np.dtype("<f8"), "int8": np.dtype("<i1"),
    "int16": np.dtype("<i2"), "int32": np.dtype("<i4"), "int64": np.dtype("<i8"),
}


@dataclass
class XdfStream:
    """One stream of an XDF file, time stamps in the recording computer's LSL clock."""

    stream_id: int
    name: str
    type: str
    channel_format: str
    nominal_srate: float
    source_id: str
    channels: tuple[str, ...]
    units: tuple[str, ...]
    header_xml: str
    time_stamps: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    # (n, channels) array for numeric streams; list of per-sample lists for string streams
    time_series: NDArray[np.generic] | list[list[str]] = field(default_factory=lambda: np.empty((0, 0)))
    clock_times: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    clock_values: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    has_footer: bool = False

    @property
    def channel_count(self) -> int:
        return len(self.channels)

    def __len__(self) -> int:
        return len(self.time_stamps)

    def column(self, label: str) -> NDArray[np.float64]:
        """One numeric channel by its label, as float64."""
        if label not in self.channels:
            raise RecordingError(f"stream {self.name!r}: no channel {label!r} (channels: {', '.join(self.channels)})")
        if isinstance(self.time_series, list):
            raise RecordingError(f"stream {self.name!r} holds strings, not numbers")
        return np.asarray(self.time_series[:, self.channels.index(label)], dtype=np.float64)

    def strings(self) -> list[str]:
        """First channel of a string stream, one str per sample."""
        if not isinstance(self.time_series, list):
            raise RecordingError(f"stream {self.name!r} holds numbers, not strings")
        return [s[0] if s else "" for s in self.time_series]


def stream_header_xml(name: str, type_: str, channels: tuple[str, ...], channel_format: str, nominal_srate: float,
                      source_id: str, units: tuple[str, ...] = (), created_at: float = 0.0,
                      extra: tuple[dict[str, str], ...] = (), uid: str = "") -> str:
    """A StreamHeader as liblsl writes it: labels, units and ``extra`` tags (e.g. type, eye) in ``desc/channels``.

    ``uid``: the stream's uid (a fresh random one when empty, as liblsl does; a fixed one gives a reproducible file).
    """
    def more(i: int) -> str:
        return "".join(f"<{k}>{escape(v)}</{k}>" for k, v in (extra[i] if i < len(extra) else {}).items())

    chans = "".join(
        f"<channel><label>{escape(c)}</label><unit>{escape(units[i] if i < len(units) else '')}</unit>{more(i)}"
        "</channel>" for i, c in enumerate(channels))
    return ("<?xml version=\"1.0\"?><info>"
            f"<name>{escape(name)}</name><type>{escape(type_)}</type><channel_count>{len(channels)}</channel_count>"
            f"<channel_format>{channel_format}</channel_format><source_id>{escape(source_id)}</source_id>"
            f"<nominal_srate>{nominal_srate!r}</nominal_srate><version>1.1</version>"
            f"<created_at>{created_at!r}</created_at><uid>{escape(uid or str(uuid.uuid4()))}</uid><session_id>default</session_id>"
            f"<hostname>localhost</hostname><desc><channels>{chans}</channels></desc></info>")


def write_streams(path: Path, streams: list[XdfStream], chunk_s: float = 0.5, recorded_at: str = "") -> None:
    """Write whole streams to a new XDF (never overwriting), in chunks of ``chunk_s`` seconds like LabRecorder.

    ``recorded_at``: the original file header's datetime, kept when a recording is rewritten (recover).
    """
    w = XdfWriter(path, recorded_at)
    try:
        _write_streams(w, streams, chunk_s)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot write ({exc.strerror})") from exc
    finally:
        try:
            w.close()
        except OSError as exc:  # the first error, if any, is already on its way up
            raise RecordingError(f"{path}: cannot write ({exc.strerror})") from exc


def finite_span(streams: Iterable[XdfStream]) -> tuple[float, float]:
    """First and last finite time stamp over all streams, (0, 0) without any: the NaN or inf stamps of a damaged
    file are left out (they stay in the file), so the span is a number session.json can hold."""
    finite = [t[np.isfinite(t)] for t in (s.time_stamps for s in streams)]
    finite = [t for t in finite if len(t)]
    if not finite:
        return 0.0, 0.0
    return min(float(t.min()) for t in finite), max(float(t.max()) for t in finite)


def chunk_keys(time_stamps: NDArray[np.float64], t0: float, chunk_s: float) -> NDArray[np.float64]:
    """The chunk of every sample: ``floor((t - t0) / chunk_s)``, made non-decreasing along the stream.

    A stamp that is not finite (or gives a key that is not) takes its predecessor's chunk, and a stamp
    that goes back in time stays in the chunk already reached, so every sample is written exactly once,
    in its recorded order, however hostile the stamps of a damaged file are.
    """
    with np.errstate(all="ignore"):
        keys = np.floor((np.asarray(time_stamps, dtype=np.float64) - t0) / chunk_s)
    keys[~np.isfinite(keys)] = -np.inf
    keys = np.maximum.accumulate(keys) if len(keys) else keys
    keys[keys == -np.inf] = 0.0
    return np.maximum(keys, 0.0)


def _write_streams(w: XdfWriter, streams: list[XdfStream], chunk_s: float) -> None:
    """Samples in chunks of ``chunk_s`` seconds, interleaved across streams, a boundary every 20 chunks.

    The loop runs over the chunks that hold samples (not over the time span), so a damaged stamp far in
    the future (1e308 s) costs nothing and loses nothing.
    """
    for s in streams:
        w.stream_header(s.stream_id, s.header_xml)
    t0, _ = finite_span(streams)
    keys = {s.stream_id: chunk_keys(s.time_stamps, t0, chunk_s) for s in streams}
    cursor = {s.stream_id: 0 for s in streams}
    group = 0.0
    for key in np.unique(np.concatenate([keys[s.stream_id] for s in streams] or [np.zeros(0)])):
        if key // 20 > group:
            w.boundary()
            group = key // 20
        for s in streams:
            i0 = cursor[s.stream_id]
            i1 = int(np.searchsorted(keys[s.stream_id], key, side="right"))
            if i1 > i0:
                w.samples(s.stream_id, s.channel_format, s.time_stamps[i0:i1], s.time_series[i0:i1])
                cursor[s.stream_id] = i1
    for s in streams:
        offsets = list(zip(s.clock_times.tolist(), s.clock_values.tolist(), strict=True))
        for ct, cv in offsets:
            w.clock_offset(s.stream_id, ct, cv)
        first = float(s.time_stamps[0]) if len(s) else 0.0
        last = float(s.time_stamps[-1]) if len(s) else 0.0
        w.stream_footer(s.stream_id, first, last, len(s), offsets)
    w.boundary()
