"""Horizontal metrics of a TrueType font, read with the stdlib.

The trial layout measures words with the same font file the participant screen draws
them with, so word AOIs sit where the ink is. Only what a left-to-right caption needs
is read: units per em, ascender/descender (``hhea``), advance widths (``hmtx``) and the
Unicode character map (``cmap`` formats 4 and 12). Kerning is ignored; the presenter
draws each word as its own text object at the position computed here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.core.errors import ProtocolError


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
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read font file ({exc.strerror})") from exc
    try:
        return _parse(Path(path), data)
    except (struct.error, KeyError, IndexError) as exc:
        raise ProtocolError(f"{path}: not a TrueType/OpenType font") from exc


def _parse(path: Path, data: bytes) -> FontMetrics:
    (num_tables,) = struct.unpack_from(">H", data, 4)
    tables: dict[bytes, tuple[int, int]] = {}
    for i in range(num_tables):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag] = (offset, length)
    head = tables[b"head"][0]
    (units_per_em,) = struct.unpack_from(">H", data, head + 18)
    hhea = tables[b"hhea"][0]
    ascender, descender, line_gap = struct.unpack_from(">hhh", data, hhea + 4)
    (n_hmetrics,) = struct.unpack_from(">H", data, hhea + 34)
    hmtx = tables[b"hmtx"][0]
    advances = tuple(struct.unpack_from(">H", data, hmtx + 4 * i)[0] for i in range(n_hmetrics))
    return FontMetrics(path, units_per_em, ascender, descender, line_gap, advances, _cmap(data, tables[b"cmap"][0]))


def _cmap(data: bytes, base: int) -> dict[int, int]:
    (n_sub,) = struct.unpack_from(">H", data, base + 2)
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
    for i in range(seg):
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
    out: dict[int, int] = {}
    for i in range(n_groups):
        start, end, glyph = struct.unpack_from(">III", data, off + 16 + 12 * i)
        if start > 0x2FFFF:
            continue
        for c in range(start, end + 1):
            out[c] = glyph + c - start
    return out
