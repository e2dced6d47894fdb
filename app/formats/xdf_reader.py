"""A tolerant XDF reader: loads whatever a file holds and reports, in words, what it could not.

A recording cut short (the app killed, the disk full, a copy interrupted) ends mid-chunk; a
damaged file has bytes that make no sense. pyxdf logs and skips such places; here every skip
becomes a line of :attr:`XdfContents.losses` so the user is told what was lost, and complete
samples of a chunk cut short are kept. Numeric sample chunks are parsed with one numpy view
per chunk (an hour of 1000 Hz gaze loads in about a second). Resynchronisation after
corruption scans for the next Boundary chunk, as the XDF specification intends
(https://github.com/sccn/xdf/wiki/Specifications, "Boundary chunk").
"""

from __future__ import annotations

import mmap
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.errors import RecordingError
from app.formats.xdf_format import (
    BOUNDARY_UUID,
    MAGIC,
    NUMERIC_FORMATS,
    TAG_BOUNDARY,
    TAG_CLOCK_OFFSET,
    TAG_FILE_HEADER,
    TAG_SAMPLES,
    TAG_STREAM_FOOTER,
    TAG_STREAM_HEADER,
    XdfStream,
)


@dataclass
class XdfContents:
    """What :func:`read_session_xdf` found: streams by name, and what could not be read."""

    path: Path
    streams: dict[str, XdfStream]
    size_bytes: int
    unread_bytes: int = 0
    losses: list[str] = field(default_factory=list)
    recorded_at: str = ""  # the FileHeader's <datetime> as written (LabRecorder: %Y-%m-%dT%H:%M:%S%z), if any

    @property
    def complete(self) -> bool:
        """True when every byte was read and every stream has its footer (a cleanly closed file)."""
        return not self.losses

    def by_type(self, type_: str) -> XdfStream | None:
        """The first stream of this LSL type (e.g. ``Gaze``), or None."""
        for s in self.streams.values():
            if s.type.lower() == type_.lower():
                return s
        return None

    def get(self, name: str) -> XdfStream | None:
        return self.streams.get(name)


MAX_CHANNELS = 65_536  # a header claiming 10**9 channels made the reader build 10**9 labels


class _CorruptError(Exception):
    pass


class _Partial:
    """Per-stream accumulation while reading."""

    def __init__(self, stream: XdfStream) -> None:
        self.stream = stream
        self.stamps: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.strings: list[list[str]] = []
        self.clock_t: list[float] = []
        self.clock_v: list[float] = []
        self.dtype = NUMERIC_FORMATS.get(stream.channel_format)
        self.parsed_to = 0  # where the last samples chunk parsed ended

    def empty_copy(self) -> _Partial:
        return _Partial(self.stream)

    def take(self, other: _Partial) -> None:
        self.stamps += other.stamps
        self.values += other.values
        self.strings += other.strings


def _parse_header(stream_id: int, xml: bytes) -> XdfStream:
    try:
        info = ET.fromstring(xml.decode("utf-8", "replace"))
    except ET.ParseError as exc:
        raise _CorruptError(f"stream header {stream_id} is not valid XML ({exc})") from exc
    fmt = (info.findtext("channel_format") or "").strip()
    if fmt not in NUMERIC_FORMATS and fmt != "string":
        raise _CorruptError(f"stream header {stream_id}: unknown channel_format {fmt!r}")
    try:
        count = int(info.findtext("channel_count") or "0")
        srate = float(info.findtext("nominal_srate") or "0")
    except ValueError as exc:
        raise _CorruptError(f"stream header {stream_id}: bad channel_count or nominal_srate") from exc
    if not 1 <= count <= MAX_CHANNELS or not 0 <= srate <= 1e6:  # also false for a NaN rate
        raise _CorruptError(f"stream header {stream_id}: channel_count {count} or nominal_srate {srate} out of range "
                            f"(1-{MAX_CHANNELS} channels, 0-1e6 Hz)")
    labels = [(c.findtext("label") or "").strip() for c in info.findall("./desc/channels/channel")]
    units = [(c.findtext("unit") or "").strip() for c in info.findall("./desc/channels/channel")]
    if len(labels) != count:
        labels, units = [f"ch{i + 1}" for i in range(count)], [""] * count
    return XdfStream(stream_id=stream_id, name=(info.findtext("name") or f"stream{stream_id}").strip(),
                     type=(info.findtext("type") or "").strip(), channel_format=fmt, nominal_srate=srate,
                     source_id=(info.findtext("source_id") or "").strip(), channels=tuple(labels),
                     units=tuple(units), header_xml=xml.decode("utf-8", "replace"))


def _varlen(buf: memoryview, p: int, end: int) -> tuple[int, int]:
    if p >= end:
        raise EOFError
    nb = buf[p]
    if nb not in (1, 4, 8):
        raise _CorruptError(f"invalid length prefix {nb} at byte {p}")
    if p + 1 + nb > end:
        raise EOFError
    fmt = {1: "<B", 4: "<I", 8: "<Q"}[nb]
    return struct.unpack_from(fmt, buf, p + 1)[0], p + 1 + nb


def _read_samples(buf: memoryview, p: int, end: int, part: _Partial, truncated: bool) -> int:
    """Parse one Samples chunk body ``buf[p:end]``; returns the number of samples kept."""
    n, p = _varlen(buf, p, end)
    s = part.stream
    nch = len(s.channels)
    if part.dtype is not None:
        rec = 9 + nch * part.dtype.itemsize
        fits = min(n, (end - p) // rec)
        if not truncated and fits * rec != end - p:
            raise _CorruptError(f"samples chunk of {s.name!r} has {end - p} bytes for {n} samples")
        raw = np.frombuffer(buf, dtype=np.uint8, count=fits * rec, offset=p).reshape(fits, rec)
        if fits and bool(np.all(raw[:, 0] == 8)):
            stamps = raw[:, 1:9].copy().view("<f8").ravel()
            values = raw[:, 9:].copy().view(part.dtype).reshape(fits, nch)
            part.stamps.append(stamps)
            part.values.append(values)
            part.parsed_to = p + fits * rec
            return fits
    # general path: per-sample (deduced time stamps, strings)
    last = float(part.stamps[-1][-1]) if part.stamps and len(part.stamps[-1]) else 0.0
    tdiff = 1.0 / s.nominal_srate if s.nominal_srate > 0 else 0.0
    stamps_l: list[float] = []
    rows_n: list[np.ndarray] = []
    rows_s: list[list[str]] = []
    try:
        for _ in range(n):
            if p >= end:
                raise EOFError
            tsb = buf[p]
            if tsb == 8:
                if p + 9 > end:
                    raise EOFError
                last = struct.unpack_from("<d", buf, p + 1)[0]
                p += 9
            elif tsb == 0:
                last += tdiff
                p += 1
            else:
                raise _CorruptError(f"bad time stamp prefix {tsb} in stream {s.name!r}")
            if part.dtype is not None:
                size = nch * part.dtype.itemsize
                if p + size > end:
                    raise EOFError
                rows_n.append(np.frombuffer(buf, dtype=part.dtype, count=nch, offset=p).copy())
                p += size
            else:
                row = []
                for _c in range(nch):
                    ln, p = _varlen(buf, p, end)
                    if p + ln > end:
                        raise EOFError
                    row.append(bytes(buf[p:p + ln]).decode("utf-8", "replace"))
                    p += ln
                rows_s.append(row)
            stamps_l.append(last)
    except EOFError:
        if not truncated:
            raise _CorruptError(f"samples chunk of {s.name!r} is shorter than its {n} samples") from None
    if not truncated and p != end:
        raise _CorruptError(f"samples chunk of {s.name!r} has {end - p} stray bytes")
    part.stamps.append(np.asarray(stamps_l, dtype=np.float64))
    if part.dtype is not None:
        part.values.append(np.asarray(rows_n, dtype=part.dtype).reshape(len(rows_n), nch))
    else:
        part.strings.extend(rows_s)
    part.parsed_to = p
    return len(stamps_l)


def _samples_despite_length(buf: memoryview, body: int, size: int, parts: dict[int, _Partial]) -> int | None:
    """Parse a samples chunk whose length is damaged; the byte after it when a plausible chunk follows there."""
    if body + 6 > size or struct.unpack_from("<H", buf, body)[0] != TAG_SAMPLES:
        return None
    sid = struct.unpack_from("<I", buf, body + 2)[0]
    if sid not in parts:
        return None
    trial = parts[sid].empty_copy()
    try:
        _read_samples(buf, body + 6, size, trial, truncated=True)
        nxt = trial.parsed_to
        length, nbody = _varlen(buf, nxt, size)
        ok = nbody + length <= size and length >= 2 and struct.unpack_from("<H", buf, nbody)[0] in range(1, 7)
    except (EOFError, _CorruptError, struct.error, ValueError):
        return None
    if not ok:
        return None
    parts[sid].take(trial)
    return nxt


def read_session_xdf(path: Path | str, clock_correct: bool = True) -> XdfContents:
    """Load every stream of an XDF file, keeping what a damaged or cut-short file still holds.

    Raises RecordingError only when nothing can be read (missing file, not XDF at all).
    Time stamps are corrected by each stream's ClockOffset measurements (a least-squares line
    through them, as LabRecorder's readers do) when ``clock_correct`` is set.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - opened apart, so that only its OSError says "cannot open"
    except OSError as exc:
        raise RecordingError(f"{path}: cannot open XDF ({exc.strerror})") from exc
    with fh:
        size = path.stat().st_size
        if size < len(MAGIC):
            raise RecordingError(f"{path}: empty or not an XDF file ({size} bytes)")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            buf = memoryview(mm)
            try:
                return _read_all(path, buf, size, clock_correct)
            finally:
                buf.release()


def _read_all(path: Path, buf: memoryview, size: int, clock_correct: bool) -> XdfContents:
    if bytes(buf[:4]) != MAGIC:
        raise RecordingError(f"{path}: not an XDF file (no 'XDF:' magic at its start)")
    parts: dict[int, _Partial] = {}
    losses: list[str] = []
    unread = 0
    recorded_at = ""
    p = 4
    while p < size:
        start = p
        try:
            length, body = _varlen(buf, p, size)
            if length < 2:
                raise _CorruptError(f"chunk length {length} at byte {start}")
            end = body + length
            truncated = end > size
            if truncated and bytes(buf[body:size]).find(BOUNDARY_UUID) >= 0:
                # a length past the end with more chunks after it (e.g. 4 GiB): a damaged length, not a cut file.
                # A samples chunk says how many samples it holds: read them as pyxdf does, if a chunk follows.
                resume = _samples_despite_length(buf, body, size, parts)
                if resume is None:
                    raise _CorruptError(f"chunk length {length} at byte {start} reaches past the end of the file")
                losses.append(f"chunk at byte {start} has a damaged length ({length}); its samples were read by "
                              "their count")
                p = resume
                continue
            if truncated and body + 6 > size:
                raise EOFError
            tag = struct.unpack_from("<H", buf, body)[0]
            if tag not in range(1, 7):
                raise _CorruptError(f"unknown chunk tag {tag} at byte {start}")
            stop = min(end, size)
            if tag in (TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_STREAM_FOOTER):
                sid = struct.unpack_from("<I", buf, body + 2)[0]
                content = body + 6
                if tag == TAG_STREAM_HEADER:
                    if truncated:
                        raise EOFError
                    if sid in parts:
                        raise _CorruptError(f"second header for stream {sid} at byte {start}")
                    parts[sid] = _Partial(_parse_header(sid, bytes(buf[content:end])))
                elif sid not in parts:
                    raise _CorruptError(f"chunk for unknown stream {sid} at byte {start}")
                elif tag == TAG_SAMPLES:
                    kept = _read_samples(buf, content, stop, parts[sid], truncated)
                    if truncated:
                        losses.append(f"file ends inside a samples chunk of {parts[sid].stream.name!r} at byte "
                                      f"{size}: {kept} complete samples kept, the rest of the chunk is lost")
                        unread += size - start  # the chunk as a whole is incomplete
                        break
                elif tag == TAG_CLOCK_OFFSET:
                    if truncated or length != 2 + 4 + 16:
                        raise EOFError if truncated else _CorruptError(f"clock offset chunk of length {length}")
                    t, v = struct.unpack_from("<dd", buf, content)
                    parts[sid].clock_t.append(t)
                    parts[sid].clock_v.append(v)
                elif tag == TAG_STREAM_FOOTER:
                    if truncated:
                        raise EOFError
                    parts[sid].stream.has_footer = True
            elif truncated:
                raise EOFError
            elif tag == TAG_BOUNDARY and bytes(buf[body + 2:end]) != BOUNDARY_UUID:
                raise _CorruptError(f"boundary chunk with a wrong signature at byte {start}")
            elif tag == TAG_FILE_HEADER:
                recorded_at = _header_datetime(bytes(buf[body + 2:end])) or recorded_at
            p = end
        except EOFError:
            losses.append(f"file ends inside a chunk that starts at byte {start} of {size}: "
                          f"its last {size - start} bytes are an incomplete chunk and were not read")
            unread += size - start
            break
        except _CorruptError as exc:
            nxt = bytes(buf[start + 1:]).find(BOUNDARY_UUID)
            resume = size if nxt < 0 else start + 1 + nxt + len(BOUNDARY_UUID)
            losses.append(f"corrupt data at byte {start} ({exc}): skipped {resume - start} bytes "
                          + ("to the end of the file" if nxt < 0 else "to the next boundary chunk"))
            unread += resume - start
            p = resume
    streams: dict[str, XdfStream] = {}
    for part in parts.values():
        s = part.stream
        s.time_stamps = np.concatenate(part.stamps) if part.stamps else np.empty(0)
        if s.channel_format == "string":
            s.time_series = part.strings
        else:
            s.time_series = (np.concatenate(part.values) if part.values
                             else np.empty((0, len(s.channels)), dtype=part.dtype))
        s.clock_times = np.asarray(part.clock_t, dtype=np.float64)
        s.clock_values = np.asarray(part.clock_v, dtype=np.float64)
        if clock_correct and len(s.clock_times) and len(s.time_stamps):
            s.time_stamps = s.time_stamps + _offset_line(s.clock_times, s.clock_values, s.time_stamps)
        if not s.has_footer:
            losses.append(f"stream {s.name!r} has no footer: the recording did not end cleanly "
                          f"({len(s)} samples read)")
        key, k = s.name, 2
        while key in streams:
            key, k = f"{s.name}#{k}", k + 1
        streams[key] = s
    return XdfContents(path=path, streams=streams, size_bytes=size, unread_bytes=unread, losses=losses,
                       recorded_at=recorded_at)


def _header_datetime(xml: bytes) -> str:
    """The ``<datetime>`` of a FileHeader chunk, or "" (a header without one, or not XML)."""
    try:
        node = ET.fromstring(xml).find("datetime")
    except ET.ParseError:
        return ""
    return (node.text or "").strip()[:64] if node is not None else ""


def _offset_line(ct: np.ndarray, cv: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Clock offset at times ``t`` from a least-squares line through the measured offsets.

    Damaged values are left out: clock pairs that are not finite do not enter the line, and a stamp that
    is not finite gets the line's intercept (so NaN and inf stamps stay what they were).
    """
    ok = np.isfinite(ct) & np.isfinite(cv)
    ct, cv = ct[ok], cv[ok]
    if not len(ct):
        return np.zeros_like(t)
    if len(ct) < 2 or float(np.ptp(ct)) == 0.0:
        return np.full_like(t, float(np.median(cv)))
    slope, intercept = np.polyfit(ct - ct[0], cv, 1)
    with np.errstate(all="ignore"):
        out = intercept + slope * (t - ct[0])
    out[~np.isfinite(t)] = intercept
    return out
