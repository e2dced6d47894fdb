"""Horizontal metrics of a TrueType font, read with the stdlib.

The trial layout measures words with the same font file the participant screen draws
them with, so word AOIs sit where the ink is. Only what a left-to-right caption needs
is read: units per em, ascender/descender (``hhea``), advance widths (``hmtx``) and the
Unicode character map (``cmap`` formats 4 and 12). Kerning is ignored; the presenter
draws each word as its own text object at the position computed here.

A font file is user input: every offset is checked against the file, ``unitsPerEm`` must be
16..16384 (the OpenType range), there must be at least one advance width, and the character map
is read within a budget of :data:`MAX_CMAP_STEPS` code points (a format-12 group of 0..0xFFFFFFFF
used to loop for ever), so reading any font takes bounded time and memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.core.errors import ProtocolError

MAX_FONT_BYTES = 50 * 2**20
MAX_CMAP_STEPS = 400_000  # code points looked at while reading a cmap (a full CJK font maps ~65,000)
MAX_CODE_POINT = 0x10FFFF


class _BadFontError(Exception):
    pass


@dataclass(frozen=True)
class FontMetrics:
    path: Path
    units_per_em: int
    ascender: int
    descender: int  # negative, in font units
    line_gap: int
    advances: tuple[int, ...] = field(repr=False)
    cmap: dict[int, int] = field(repr=False, hash=False, compare=False)

    def advance(self, char: str) -> int:
        glyph = self.cmap.get(ord(char), 0)
        return self.advances[min(glyph, len(self.advances) - 1)]

    def text_width(self, text: str, size_px: float) -> float:
        """Advance width of ``text`` in pixels at a font size of ``size_px`` (em height)."""
        return sum(self.advance(c) for c in text) * size_px / self.units_per_em

    def ascent_px(self, size_px: float) -> float:
        return self.ascender * size_px / self.units_per_em

    def descent_px(self, size_px: float) -> float:
        return -self.descender * size_px / self.units_per_em

    def line_height_px(self, size_px: float) -> float:
        return (self.ascender - self.descender + self.line_gap) * size_px / self.units_per_em


@lru_cache(maxsize=8)
def load_font_metrics(path: Path) -> FontMetrics:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FONT_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise ProtocolError(f"{path}: cannot read font file ({getattr(exc, 'strerror', None) or exc})") from exc
    if len(data) > MAX_FONT_BYTES:
        raise ProtocolError(f"{path}: font file is larger than {MAX_FONT_BYTES // 2**20} MiB")
    try:
        return _parse(Path(path), data)
    except _BadFontError as exc:
        raise ProtocolError(f"{path}: not a TrueType/OpenType font this app can use ({exc})") from exc
    except (struct.error, KeyError, IndexError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"{path}: not a TrueType/OpenType font") from exc


def _parse(path: Path, data: bytes) -> FontMetrics:
    (num_tables,) = struct.unpack_from(">H", data, 4)
    tables: dict[bytes, tuple[int, int]] = {}
    for i in range(num_tables):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if offset + length > len(data):
            raise _BadFontError(f"table {tag.decode('latin-1')!r} reaches past the end of the file")
        tables[tag] = (offset, length)
    for tag in (b"head", b"hhea", b"hmtx", b"cmap"):
        if tag not in tables:
            raise _BadFontError(f"no {tag.decode()!r} table")
    head = tables[b"head"][0]
    (units_per_em,) = struct.unpack_from(">H", data, head + 18)
    if not 16 <= units_per_em <= 16384:
        raise _BadFontError(f"unitsPerEm is {units_per_em}; expected 16..16384")
    hhea = tables[b"hhea"][0]
    ascender, descender, line_gap = struct.unpack_from(">hhh", data, hhea + 4)
    if ascender - descender + line_gap <= 0 or ascender <= descender:
        raise _BadFontError(f"ascender {ascender}, descender {descender}, line gap {line_gap}: no line height")
    (n_hmetrics,) = struct.unpack_from(">H", data, hhea + 34)
    if n_hmetrics < 1:
        raise _BadFontError("numberOfHMetrics is 0 (no advance widths)")
    hmtx = tables[b"hmtx"][0]
    advances = tuple(struct.unpack_from(f">{2 * n_hmetrics}H", data, hmtx)[::2])
    return FontMetrics(path, units_per_em, ascender, descender, line_gap, advances, _cmap(data, tables[b"cmap"][0]))


def _cmap(data: bytes, base: int) -> dict[int, int]:
    (n_sub,) = struct.unpack_from(">H", data, base + 2)
    if n_sub > 256:
        raise _BadFontError(f"{n_sub} cmap subtables")
    subtables = []
    for i in range(n_sub):
        platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
        fmt = struct.unpack_from(">H", data, base + offset)[0]
        subtables.append((platform, encoding, fmt, base + offset))
    for want in (12, 4):
        for platform, encoding, fmt, off in subtables:
            if fmt == want and (platform == 0 or (platform == 3 and encoding in (1, 10))):
                return _cmap12(data, off) if fmt == 12 else _cmap4(data, off)
    raise KeyError("no unicode cmap")


def _cmap4(data: bytes, off: int) -> dict[int, int]:
    seg_x2 = struct.unpack_from(">H", data, off + 6)[0]
    seg = seg_x2 // 2
    ends = struct.unpack_from(f">{seg}H", data, off + 14)
    starts = struct.unpack_from(f">{seg}H", data, off + 16 + seg_x2)
    deltas = struct.unpack_from(f">{seg}h", data, off + 16 + 2 * seg_x2)
    range_base = off + 16 + 3 * seg_x2
    ranges = struct.unpack_from(f">{seg}H", data, range_base)
    out: dict[int, int] = {}
    steps = 0
    for i in range(seg):
        steps += max(0, ends[i] + 1 - starts[i])
        if steps > MAX_CMAP_STEPS:
            raise _BadFontError(f"character map covers more than {MAX_CMAP_STEPS} code points")
        for c in range(starts[i], ends[i] + 1):
            if c == 0xFFFF:
                continue
            if ranges[i] == 0:
                g = (c + deltas[i]) & 0xFFFF
            else:
                addr = range_base + 2 * i + ranges[i] + 2 * (c - starts[i])
                g = struct.unpack_from(">H", data, addr)[0]
                if g:
                    g = (g + deltas[i]) & 0xFFFF
            if g:
                out[c] = g
    return out


def _cmap12(data: bytes, off: int) -> dict[int, int]:
    (n_groups,) = struct.unpack_from(">I", data, off + 12)
    if off + 16 + 12 * n_groups > len(data):
        raise _BadFontError(f"cmap format 12 lists {n_groups} groups, more than the file holds")
    out: dict[int, int] = {}
    steps = 0
    for i in range(n_groups):
        start, end, glyph = struct.unpack_from(">III", data, off + 16 + 12 * i)
        end = min(end, MAX_CODE_POINT)
        if start > 0x2FFFF or end < start:
            continue
        steps += end + 1 - start
        if steps > MAX_CMAP_STEPS:
            raise _BadFontError(f"character map covers more than {MAX_CMAP_STEPS} code points")
        for c in range(start, end + 1):
            out[c] = glyph + c - start
    return out
