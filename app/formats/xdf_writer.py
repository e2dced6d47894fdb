"""An append-only XDF 1.0 writer (the format LabRecorder writes; spec: github.com/sccn/xdf/wiki/Specifications).

Chunks are written as they come and the file is flushed often, so a process killed with
``kill -9`` leaves a file that pyxdf loads up to the last flushed chunk. The file is
created exclusively (``"xb"``): a recording is never overwritten.

The FileHeader and StreamFooter chunks are byte for byte what LabRecorder writes (its
``xdfwriter.cpp`` and ``recording.cpp``): ``<info><version>1.0</version><datetime>`` with the local
time as ``%Y-%m-%dT%H:%M:%S%z`` (``2026-01-01T10:00:00+0000``: no colon in the offset; mne-xdf and
mnelab insert one themselves), and footers whose numbers have 16 significant digits, ``0`` for the
first/last time stamp of a stream without samples.

Chunk layout: NumLengthBytes (1 byte: 1, 4 or 8), Length (that many bytes, LE, counting the
tag and the content), Tag (uint16 LE), Content. Tags: 1 FileHeader, 2 StreamHeader,
3 Samples, 4 ClockOffset, 5 Boundary, 6 StreamFooter.
"""

from __future__ import annotations

import datetime as _dt
import struct
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

import numpy as np

from app.core.errors import RecordingError

BOUNDARY_UUID = bytes([0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F,
                       0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4])
NUMERIC_DTYPES = {"float32": "<f4", "double64": "<f8", "int8": "<i1", "int16": "<i2",
                  "int32": "<i4", "int64": "<i8"}


def _varlen(n: int) -> bytes:
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2**32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


class XdfWriter:
    """Low-level writer; not thread-safe (the recorder's one writer thread owns it)."""

    def __init__(self, path: Path, recorded_at: str = "") -> None:
        """``recorded_at``: the header's datetime of the recording this file rewrites (kept if well formed)."""
        self.path = Path(path)
        try:
            self._fh: BinaryIO = open(self.path, "xb")  # noqa: SIM115 - closed in close()
        except FileExistsError as exc:
            raise RecordingError(f"{self.path}: already exists; recordings are never overwritten") from exc
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot create recording ({exc.strerror})") from exc
        self.bytes_written = 0
        self._write(b"XDF:")
        self._chunk(1, file_header_xml(_parse_stamp(recorded_at)).encode())
        self.flush()

    def _write(self, data: bytes) -> None:
        self._fh.write(data)  # OSError (e.g. ENOSPC) propagates to the recorder
        self.bytes_written += len(data)

    def _chunk(self, tag: int, content: bytes) -> None:
        self._write(_varlen(len(content) + 2) + struct.pack("<H", tag) + content)

    def stream_header(self, stream_id: int, info_xml: str) -> None:
        self._chunk(2, struct.pack("<I", stream_id) + info_xml.encode("utf-8"))

    def samples(self, stream_id: int, channel_format: str, timestamps: np.ndarray, values: object) -> None:
        n = len(timestamps)
        if n == 0:
            return
        ts = np.asarray(timestamps, dtype="<f8")
        parts = [struct.pack("<I", stream_id), _varlen(n)]
        if channel_format == "string":
            for t, row in zip(ts, values, strict=True):  # type: ignore[call-overload]
                parts.append(b"\x08" + t.tobytes())
                for v in row:
                    b = str(v).encode("utf-8")
                    parts.append(_varlen(len(b)) + b)
            self._chunk(3, b"".join(parts))
            return
        dtype = NUMERIC_DTYPES.get(channel_format)
        if dtype is None:
            raise RecordingError(f"XDF: unsupported channel format {channel_format!r}")
        arr = np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(n, -1))
        rec = np.empty(n, dtype=[("tsb", "u1"), ("t", "<f8"), ("v", dtype, (arr.shape[1],))])
        rec["tsb"] = 8
        rec["t"] = ts
        rec["v"] = arr
        parts.append(rec.tobytes())
        self._chunk(3, b"".join(parts))

    def clock_offset(self, stream_id: int, collection_time: float, offset: float) -> None:
        self._chunk(4, struct.pack("<Idd", stream_id, collection_time, offset))

    def boundary(self) -> None:
        self._chunk(5, BOUNDARY_UUID)

    def stream_footer(self, stream_id: int, first: float, last: float, count: int,
                      offsets: list[tuple[float, float]]) -> None:
        self._chunk(6, struct.pack("<I", stream_id) + stream_footer_xml(first, last, count, offsets).encode())

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self._fh.flush()
            finally:
                self._fh.close()


def file_header_xml(now: _dt.datetime | None = None) -> str:
    """LabRecorder's FileHeader: XDF version and the local time, ``strftime("%Y-%m-%dT%H:%M:%S%z")``."""
    stamp = (now or _dt.datetime.now(_dt.UTC).astimezone()).strftime("%Y-%m-%dT%H:%M:%S%z")
    return f'<?xml version="1.0"?><info><version>1.0</version><datetime>{stamp}</datetime></info>'


def _parse_stamp(text: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z") if text else None
    except ValueError:
        return None


def _num(x: float) -> str:
    """A number as LabRecorder's ``std::ostream`` with ``precision(16)`` prints it (``%.16g``)."""
    return f"{x:.16g}"


def stream_footer_xml(first: float, last: float, count: int, offsets: list[tuple[float, float]]) -> str:
    """LabRecorder's StreamFooter; a stream without samples gets 0 for its first and last time stamp."""
    if count == 0 or not (np.isfinite(first) and np.isfinite(last)):
        first = last = 0.0
    offs = "".join(f"<offset><time>{_num(t)}</time><value>{_num(v)}</value></offset>" for t, v in offsets)
    return (f'<?xml version="1.0"?><info><first_timestamp>{_num(first)}</first_timestamp>'
            f"<last_timestamp>{_num(last)}</last_timestamp><sample_count>{count}</sample_count>"
            f"<clock_offsets>{offs}</clock_offsets></info>")


def minimal_info_xml(name: str, type_: str, channel_count: int, srate: float, channel_format: str,
                     source_id: str = "", channels: tuple[str, ...] = ()) -> str:
    """A stream header for streams that are not LSL inlets (tests, synthetic sessions)."""
    ch = "".join(f"<channel><label>{escape(c)}</label></channel>" for c in channels)
    return (f'<?xml version="1.0"?><info><name>{escape(name)}</name><type>{escape(type_)}</type>'
            f"<channel_count>{channel_count}</channel_count><nominal_srate>{srate!r}</nominal_srate>"
            f"<channel_format>{channel_format}</channel_format><source_id>{escape(source_id)}</source_id>"
            f"<desc><channels>{ch}</channels></desc></info>")
