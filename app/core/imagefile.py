"""Image dimensions of PNG and JPEG files, with the file checked whole before it is used (stdlib only).

The layout needs the size; the presenter decodes the pixels later, in another process, where a
broken file would stop a running session. So the file is checked here, at load time, within a
time and memory bound:

- PNG: every chunk's length and CRC, the IHDR fields, and the IDAT stream inflated (in 1 MiB
  pieces, never kept) to exactly the byte count the header promises; ``IEND`` must close it.
- JPEG: the marker segments up to the start of scan, a frame header with non-zero size, and the
  end-of-image marker at the end (a truncated file has none).

Sizes are limited to :data:`MAX_SIDE_PX` per side, :data:`MAX_PIXELS` in all, :data:`MAX_FILE_BYTES` on disk.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from app.core.errors import ProtocolError

MAX_SIDE_PX = 20_000
MAX_PIXELS = 100_000_000
MAX_FILE_BYTES = 200 * 2**20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def image_size(path: Path, whole: bool = True) -> tuple[int, int]:
    """Return ``(width, height)`` in pixels of a PNG or JPEG file that is whole and within the limits.

    ``whole=False`` reads the header only (for a caller that decodes every image itself and lists all problems)."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise ProtocolError(f"{path}: image file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        with open(path, "rb") as fh:
            head = fh.read(8)
            fh.seek(0)
            if head == PNG_MAGIC:
                w, h = _png_size(fh, path, whole)
            elif head[:2] == b"\xff\xd8":
                w, h = _jpeg_size(fh, path, size, whole)
            else:
                raise ProtocolError(f"{path}: not a PNG or JPEG image")
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read image ({exc.strerror})") from exc
    _check_dimensions(path, w, h)
    return w, h


def _check_dimensions(path: Path, w: int, h: int) -> None:
    if w < 1 or h < 1:
        raise ProtocolError(f"{path}: image of {w}x{h} px (a side of zero)")
    if w > MAX_SIDE_PX or h > MAX_SIDE_PX or w * h > MAX_PIXELS:
        raise ProtocolError(f"{path}: image of {w}x{h} px is larger than {MAX_SIDE_PX} px a side or "
                            f"{MAX_PIXELS // 1_000_000} megapixels")


def _png_size(fh: BinaryIO, path: Path, whole: bool) -> tuple[int, int]:
    fh.read(8)
    w = h = 0
    expected = 0
    inflater = zlib.decompressobj()
    inflated = 0
    seen_ihdr = False
    while True:
        head = fh.read(8)
        if len(head) < 8:
            raise ProtocolError(f"{path}: truncated PNG (no IEND chunk)")
        length, tag = struct.unpack(">I4s", head)
        if length > 2**31 - 1:
            raise ProtocolError(f"{path}: corrupt PNG (chunk length {length})")
        crc = zlib.crc32(tag)
        if tag == b"IDAT":
            left = length
            while left:
                piece = fh.read(min(left, 1 << 20))
                if not piece:
                    raise ProtocolError(f"{path}: truncated PNG (inside image data)")
                left -= len(piece)
                crc = zlib.crc32(piece, crc)
                if not seen_ihdr:
                    raise ProtocolError(f"{path}: corrupt PNG (image data before the header)")
                inflated += _inflate(inflater, piece, expected - inflated, path)
            body = b""
        else:
            if length > 16 * 2**20:
                raise ProtocolError(f"{path}: corrupt PNG ({tag!r} chunk of {length} bytes)")
            body = fh.read(length)
            if len(body) < length:
                raise ProtocolError(f"{path}: truncated PNG (inside a {tag!r} chunk)")
            crc = zlib.crc32(body, crc)
        stored = fh.read(4)
        if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc:
            raise ProtocolError(f"{path}: corrupt PNG (CRC of the {tag.decode('latin-1')!r} chunk does not match)")
        if not seen_ihdr:
            if tag != b"IHDR" or length != 13:
                raise ProtocolError(f"{path}: corrupt PNG (it does not start with an IHDR chunk)")
            w, h, depth, colour, _comp, _filt, interlace = struct.unpack(">IIBBBBB", body)
            if colour not in _PNG_DEPTHS or depth not in _PNG_DEPTHS[colour] or interlace not in (0, 1):
                raise ProtocolError(f"{path}: corrupt PNG header (bit depth {depth}, colour type {colour})")
            _check_dimensions(path, w, h)
            expected = _png_bytes(w, h, depth * _PNG_CHANNELS[colour], interlace)
            seen_ihdr = True
            if not whole:
                return int(w), int(h)
        elif tag == b"IEND":
            break
    inflated += _inflate(inflater, inflater.flush(), expected - inflated, path)
    if not inflater.eof or inflated != expected:
        raise ProtocolError(f"{path}: truncated or corrupt PNG (image data of {inflated} bytes, the header "
                            f"promises {expected})")
    return int(w), int(h)


def _inflate(inflater: zlib._Decompress, data: bytes, room: int, path: Path) -> int:
    """Inflate ``data`` in bounded pieces; returns the byte count (never more than ``room`` + 1 piece is held)."""
    total = 0
    try:
        while data:
            out = inflater.decompress(data, 1 << 20)
            total += len(out)
            if total > room:
                raise ProtocolError(f"{path}: corrupt PNG (more image data than the header promises)")
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise ProtocolError(f"{path}: corrupt PNG (image data does not inflate: {exc})") from exc
    return total


def _png_bytes(w: int, h: int, bits_per_pixel: int, interlace: int) -> int:
    """Filtered scanline bytes of the image: one filter byte per row plus the packed pixels (Adam7 per pass)."""
    def rows(pw: int, ph: int) -> int:
        return 0 if pw == 0 or ph == 0 else ph * (1 + (pw * bits_per_pixel + 7) // 8)

    if interlace == 0:
        return rows(w, h)
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    return sum(rows((w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy) for x0, y0, dx, dy in passes)


def _jpeg_size(fh: BinaryIO, path: Path, file_size: int, whole: bool) -> tuple[int, int]:
    fh.seek(2)
    size: tuple[int, int] | None = None
    while True:
        byte = fh.read(1)
        while byte and byte != b"\xff":
            byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            break
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        if marker == 0xD9:
            break
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            break
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            raise ProtocolError(f"{path}: corrupt JPEG (segment length {length})")
        if marker in _SOF:
            data = fh.read(5)
            if len(data) < 5:
                break
            h, w = struct.unpack(">HH", data[1:5])
            size = (int(w), int(h))
            if not whole:
                return size
            fh.seek(length - 7, 1)
            continue
        if marker == 0xDA:  # start of scan: the entropy-coded data runs to the end of image
            if size is None:
                raise ProtocolError(f"{path}: corrupt JPEG (scan data before the frame header)")
            fh.seek(max(file_size - 4096, fh.tell()))
            if b"\xff\xd9" not in fh.read():
                raise ProtocolError(f"{path}: truncated JPEG (no end-of-image marker)")
            return size
        fh.seek(length - 2, 1)
    if size is None:
        raise ProtocolError(f"{path}: truncated or corrupt JPEG (no frame header)")
    raise ProtocolError(f"{path}: truncated JPEG (no image data after the frame header)")
