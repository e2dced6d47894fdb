"""Trial layout: where the caption's words and the image sit on the participant screen.

One function, :func:`layout_trial`, used by the presenter (to draw), the simulated
tracker (to look at the AOIs) and headless runs (to map fixations), so the areas of
interest are the same everywhere. Word boxes come from the font's own metrics
(advance widths, ascender and descender), each word drawn as its own text object.

AOI names follow the POV release: ``txt_<word>`` for a caption word (``txt_<word><k>``
when the word occurs more than once, k counting occurrences from 1), ``vis_<label>``
for an image object.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from app.core.errors import ProtocolError
from app.core.fontmetrics import load_font_metrics
from app.core.protocol import Protocol, Trial

Point = tuple[float, float]


@dataclass(frozen=True)
class Aoi:
    name: str  # txt_<word>[k] or vis_<label>
    kind: str  # "word" or "object"
    text: str  # the word as printed, or the object label
    polygon: tuple[Point, ...]  # screen pixels, top-left origin
    index: int  # position among the trial's words / objects

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def centre(self) -> Point:
        x0, y0, x1, y1 = self.bbox
        return (x0 + x1) / 2, (y0 + y1) / 2


@dataclass(frozen=True)
class PlacedWord:
    text: str
    x: float  # left edge of the advance box
    baseline: float
    box: tuple[float, float, float, float]  # x0, y0 (ascender), x1, y1 (descender)


@dataclass(frozen=True)
class TrialLayout:
    trial_id: str
    screen_px: tuple[int, int]
    words: tuple[PlacedWord, ...]
    image_rect: tuple[float, float, float, float]  # x0, y0, x1, y1 on screen
    image_scale: float
    aois: tuple[Aoi, ...]  # words first (reading order), then objects

    @property
    def word_aois(self) -> tuple[Aoi, ...]:
        return tuple(a for a in self.aois if a.kind == "word")

    @property
    def object_aois(self) -> tuple[Aoi, ...]:
        return tuple(a for a in self.aois if a.kind == "object")


def normalise_word(word: str) -> str:
    """A caption word as an AOI key: lower case, letters and digits only."""
    return re.sub(r"[^\w]", "", word.lower())


def word_aoi_names(words: list[str]) -> list[str]:
    keys = [normalise_word(w) or "word" for w in words]
    totals = Counter(keys)
    seen: Counter[str] = Counter()
    names = []
    for k in keys:
        seen[k] += 1
        names.append(f"txt_{k}{seen[k]}" if totals[k] > 1 else f"txt_{k}")
    return names


def layout_trial(protocol: Protocol, trial: Trial) -> TrialLayout:
    """Place the caption (wrapped, centred) above the image (scaled to fit, centred)."""
    st = protocol.style
    sw, sh = protocol.screen.width_px, protocol.screen.height_px
    font = load_font_metrics(st.font)
    size = st.font_size_px
    space = font.text_width(" ", size)
    max_w = min(st.caption_max_width_px, sw)
    words = trial.caption.split()

    lines: list[list[tuple[str, float]]] = [[]]
    line_w = 0.0
    for w in words:
        ww = font.text_width(w, size)
        if ww > max_w:
            raise ProtocolError(
                f"{protocol.path}: trial {trial.trial_id}: caption word {w!r} is {ww:.0f} px wide, "
                f"wider than the caption area ({max_w:.0f} px)")
        needed = ww if not lines[-1] else line_w + space + ww
        if lines[-1] and needed > max_w:
            lines.append([])
            needed = ww
        lines[-1].append((w, ww))
        line_w = needed

    line_h = font.line_height_px(size) * st.line_spacing
    ascent, descent = font.ascent_px(size), font.descent_px(size)
    placed: list[PlacedWord] = []
    for li, line in enumerate(lines):
        total = sum(ww for _, ww in line) + space * (len(line) - 1)
        x = (sw - total) / 2
        baseline = st.caption_top_px + ascent + li * line_h
        for w, ww in line:
            box = (x - st.word_margin_px, baseline - ascent, x + ww + st.word_margin_px, baseline + descent)
            placed.append(PlacedWord(w, x, baseline, box))
            x += ww + space
    caption_bottom = placed[-1].box[3]
    if caption_bottom > st.image_top_px:
        raise ProtocolError(
            f"{protocol.path}: trial {trial.trial_id}: caption needs {len(lines)} lines and ends at "
            f"y={caption_bottom:.0f} px, below the image top ({st.image_top_px:.0f} px); shorten it or "
            f"raise layout.image_top_px")

    iw, ih = trial.image_size
    max_h = min(st.image_max_height_px, sh - st.image_top_px)
    if max_h <= 0:
        raise ProtocolError(f"{protocol.path}: layout.image_top_px is below the screen bottom")
    scale = min(min(st.image_max_width_px, sw) / iw, max_h / ih)
    x0 = (sw - iw * scale) / 2
    y0 = st.image_top_px
    rect = (x0, y0, x0 + iw * scale, y0 + ih * scale)

    aois: list[Aoi] = []
    for i, (pw, name) in enumerate(zip(placed, word_aoi_names(words), strict=True)):
        bx0, by0, bx1, by1 = pw.box
        aois.append(Aoi(name, "word", pw.text, ((bx0, by0), (bx1, by0), (bx1, by1), (bx0, by1)), i))
    for j, obj in enumerate(trial.aois):
        poly = tuple((x0 + px * scale, y0 + py * scale) for px, py in obj.polygon)
        aois.append(Aoi(f"vis_{obj.label}", "object", obj.label, poly, j))
    return TrialLayout(trial.trial_id, (sw, sh), tuple(placed), rect, scale, tuple(aois))
