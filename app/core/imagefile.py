"""Image dimensions read from PNG and JPEG headers (stdlib only, no decoding).

Decoding the pixels is the presenter's job; the layout only needs the size.
"""

from __future__ import annotations

import struct
from pathlib import Path

from app.core.errors import ProtocolError


def image_size(path: Path) -> tuple[int, int]:
    """Return ``(width, height)`` in pixels of a PNG or JPEG file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                w, h = struct.unpack(">II", head[16:24])
                return int(w), int(h)
            if head[:2] == b"\xff\xd8":
                fh.seek(2)
                return _jpeg_size(fh, path)
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read image ({exc.strerror})") from exc
    raise ProtocolError(f"{path}: not a PNG or JPEG image")


def _jpeg_size(fh, path: Path) -> tuple[int, int]:  # type: ignore[no-untyped-def]
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
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            break
        (length,) = struct.unpack(">H", length_bytes)
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            data = fh.read(5)
            if len(data) < 5:
                break
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        fh.seek(length - 2, 1)
    raise ProtocolError(f"{path}: truncated or corrupt JPEG (no frame header)")
