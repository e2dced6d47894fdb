"""XDF 1.0 container: chunk tags, stream objects, and a vectorised writer.

Format reference: the XDF specification, https://github.com/sccn/xdf/wiki/Specifications
(magic ``XDF:``; chunks ``[NumLengthBytes][Length][Tag][Content]``; tags 1 FileHeader,
2 StreamHeader, 3 Samples, 4 ClockOffset, 5 Boundary, 6 StreamFooter). The writer is used
to synthesise sessions (benchmarks, tests) and to rewrite a recovered file so that any XDF
reader (pyxdf, MATLAB's load_xdf, MNE) opens it; live recording is LabRecorder's job.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

from app.core.errors import RecordingError

MAGIC = b"XDF:"
TAG_FILE_HEADER, TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_BOUNDARY, TAG_STREAM_FOOTER = 1, 2, 3, 4, 5, 6
# The 16-byte UUID that every boundary chunk carries (readers scan for it to resynchronise).
BOUNDARY_UUID = bytes([0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4])

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
                      source_id: str, units: tuple[str, ...] = (), created_at: float = 0.0) -> str:
    """A StreamHeader as liblsl writes it, with the channel labels in ``desc/channels``."""
    chans = "".join(
        f"<channel><label>{escape(c)}</label><unit>{escape(units[i] if i < len(units) else '')}</unit></channel>"
        for i, c in enumerate(channels))
    return ("<?xml version=\"1.0\"?><info>"
            f"<name>{escape(name)}</name><type>{escape(type_)}</type><channel_count>{len(channels)}</channel_count>"
            f"<channel_format>{channel_format}</channel_format><source_id>{escape(source_id)}</source_id>"
            f"<nominal_srate>{nominal_srate!r}</nominal_srate><version>1.1</version>"
            f"<created_at>{created_at!r}</created_at><uid>{uuid.uuid4()}</uid><session_id>default</session_id>"
            f"<hostname>localhost</hostname><desc><channels>{chans}</channels></desc></info>")


class XdfWriter:
    """Write an XDF file chunk by chunk (what LabRecorder writes, from Python)."""

    def __init__(self, path: Path, fh: BinaryIO) -> None:
        self.path = path
        self._fh = fh
        self._formats: dict[int, str] = {}
        self._nch: dict[int, int] = {}

    @classmethod
    def create(cls, path: Path) -> XdfWriter:
        try:
            fh = open(path, "xb")  # never overwrite a recording
        except FileExistsError as exc:
            raise RecordingError(f"{path}: already exists; a recording is never overwritten") from exc
        except OSError as exc:
            raise RecordingError(f"{path}: cannot create ({exc.strerror})") from exc
        w = cls(path, fh)
        w._write(MAGIC)
        w._chunk(TAG_FILE_HEADER, b'<?xml version="1.0"?><info><version>1.0</version></info>')
        return w

    def _write(self, data: bytes) -> None:
        try:
            self._fh.write(data)
        except OSError as exc:
            raise RecordingError(f"{self.path}: write failed ({exc.strerror})") from exc

    def _chunk(self, tag: int, content: bytes, stream_id: int | None = None) -> None:
        body = struct.pack("<H", tag) + (b"" if stream_id is None else struct.pack("<I", stream_id)) + content
        n = len(body)
        head = struct.pack("<BB", 1, n) if n < 256 else (struct.pack("<BI", 4, n) if n < 2**32 else
                                                             struct.pack("<BQ", 8, n))
        self._write(head)
        self._write(body)

    def add_stream(self, stream_id: int, header_xml: str) -> None:
        import xml.etree.ElementTree as ET

        info = ET.fromstring(header_xml)
        fmt = (info.findtext("channel_format") or "").strip()
        if fmt not in NUMERIC_FORMATS and fmt != "string":
            raise RecordingError(f"{self.path}: stream {stream_id}: unsupported channel_format {fmt!r}")
        self._formats[stream_id] = fmt
        self._nch[stream_id] = int(info.findtext("channel_count") or "0")
        self._chunk(TAG_STREAM_HEADER, header_xml.encode("utf-8"), stream_id)

    def samples(self, stream_id: int, stamps: NDArray[np.float64], values: NDArray[np.generic] | list[list[str]]) -> None:
        """One Samples chunk; every sample carries its own 8-byte time stamp."""
        n = len(stamps)
        if n == 0:
            return
        fmt = self._formats[stream_id]
        count = _varlen(n)
        if fmt == "string":
            parts = [count]
            for t, row in zip(stamps, values, strict=True):
                parts.append(b"\x08" + struct.pack("<d", float(t)))
                for s in row:
                    b = str(s).encode("utf-8")
                    parts.append(_varlen(len(b)) + b)
            self._chunk(TAG_SAMPLES, b"".join(parts), stream_id)
            return
        nch = self._nch[stream_id]
        rec = np.dtype([("tsb", "u1"), ("ts", "<f8"), ("v", NUMERIC_FORMATS[fmt], (nch,))])
        arr = np.empty(n, dtype=rec)
        arr["tsb"] = 8
        arr["ts"] = stamps
        arr["v"] = np.asarray(values).reshape(n, nch)
        self._chunk(TAG_SAMPLES, count + arr.tobytes(), stream_id)

    def clock_offset(self, stream_id: int, collection_time: float, offset: float) -> None:
        self._chunk(TAG_CLOCK_OFFSET, struct.pack("<dd", collection_time, offset), stream_id)

    def boundary(self) -> None:
        self._chunk(TAG_BOUNDARY, BOUNDARY_UUID)

    def footer(self, stream_id: int, stamps: NDArray[np.float64]) -> None:
        first = float(stamps[0]) if len(stamps) else 0.0
        last = float(stamps[-1]) if len(stamps) else 0.0
        xml = (f'<?xml version="1.0"?><info><first_timestamp>{first!r}</first_timestamp>'
               f"<last_timestamp>{last!r}</last_timestamp><sample_count>{len(stamps)}</sample_count>"
               "<clock_offsets></clock_offsets></info>")
        self._chunk(TAG_STREAM_FOOTER, xml.encode("utf-8"), stream_id)

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:
            raise RecordingError(f"{self.path}: close failed ({exc.strerror})") from exc


def _varlen(n: int) -> bytes:
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2**32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def write_streams(path: Path, streams: list[XdfStream], chunk_s: float = 0.5) -> None:
    """Write whole streams to a new XDF, interleaved in chunks of ``chunk_s`` seconds like LabRecorder."""
    w = XdfWriter.create(path)
    try:
        for s in streams:
            w.add_stream(s.stream_id, s.header_xml)
        starts = [float(s.time_stamps[0]) for s in streams if len(s)]
        ends = [float(s.time_stamps[-1]) for s in streams if len(s)]
        if starts:
            t, t_end = min(starts), max(ends)
            cursor = {s.stream_id: 0 for s in streams}
            n_chunk = 0
            while t <= t_end:
                for s in streams:
                    i0 = cursor[s.stream_id]
                    i1 = int(np.searchsorted(s.time_stamps, t + chunk_s, side="left"))
                    if i1 > i0:
                        vals = s.time_series[i0:i1]
                        w.samples(s.stream_id, s.time_stamps[i0:i1], vals)
                        cursor[s.stream_id] = i1
                n_chunk += 1
                if n_chunk % 20 == 0:
                    w.boundary()
                t += chunk_s
        for s in streams:
            for ct, cv in zip(s.clock_times, s.clock_values, strict=True):
                w.clock_offset(s.stream_id, float(ct), float(cv))
            w.footer(s.stream_id, s.time_stamps)
    finally:
        w.close()
