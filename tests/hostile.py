"""Builders of hostile inputs (fonts, PNGs, protocols) and the check every hostile input must pass.

Shared by the regression tests of the red team's findings and the fuzzing harness (``tests/fuzz``).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "assets" / "images" / "coffee.jpg"
FONT = ROOT / "assets" / "fonts" / "DejaVuSans.ttf"


def expect_clean_error(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> str:
    """Run ``povlab ARGV`` in-process: exit 2 and one ``povlab: error:`` line (containing ``words``), no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"exit {code}: {err[-2000:]}"
    lines = [ln for ln in err.splitlines() if ln.startswith("povlab: error:")]
    assert len(lines) == 1, err[-2000:]
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def png_bytes(width: int, height: int, *, idat: bytes | None = None, truncate: int | None = None) -> bytes:
    """A greyscale 8-bit PNG of ``width`` x ``height`` (any header values, e.g. 0), optionally cut short."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    raw = b"".join(b"\x00" + bytes(width) for _ in range(height)) if idat is None else idat
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw) if idat is None else idat) + chunk(b"IEND", b""))
    return data[:truncate] if truncate is not None else data


def tiny_font(units_per_em: int = 1000, n_hmetrics: int = 2, groups: tuple[tuple[int, int, int], ...] = ((32, 126, 1),),
              ascender: int = 800, descender: int = -200) -> bytes:
    """A minimal TrueType file (head, hhea, hmtx, cmap format 12) with the given header values and cmap groups."""
    head = bytearray(54)
    struct.pack_into(">IIII", head, 0, 0x00010000, 0x00010000, 0, 0x5F0F3CF5)
    struct.pack_into(">H", head, 18, units_per_em)
    hhea = bytearray(36)
    struct.pack_into(">Ihhh", hhea, 0, 0x00010000, ascender, descender, 0)
    struct.pack_into(">H", hhea, 34, n_hmetrics)
    hmtx = b"".join(struct.pack(">Hh", 500, 0) for _ in range(max(n_hmetrics, 1)))
    sub = struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups)) + b"".join(
        struct.pack(">III", *g) for g in groups)
    cmap = struct.pack(">HHHHI", 0, 1, 3, 10, 12) + sub
    tables = [(b"cmap", cmap), (b"head", bytes(head)), (b"hhea", bytes(hhea)), (b"hmtx", hmtx)]
    offset = 12 + 16 * len(tables)
    directory, body = b"", b""
    for tag, data in tables:
        directory += struct.pack(">4sIII", tag, 0, offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    return struct.pack(">IHHHH", 0x00010000, len(tables), 64, 2, 0) + directory + body


def protocol_text(image: str | Path = IMG, extra_top: str = "", screen: str = "", trial: str = "",
                  layout: str = "") -> str:
    """A small valid protocol; the keyword parts are inserted into its tables."""
    return f"""schema_version = 1
name = "hostile"
{extra_top}
[screen]
width_px = 1920
height_px = 1080
width_cm = 53.0
height_cm = 30.0
distance_cm = 60.0
{screen}
[layout]
{layout}
[[trials]]
id = "t1"
image = "{image}"
caption = "A cup of coffee"
aois = [{{ label = "cup", box = [10, 10, 100, 100] }}]
{trial}
"""
