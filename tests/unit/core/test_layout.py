from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app.core.errors import ProtocolError
from app.core.fontmetrics import load_font_metrics
from app.core.layout import layout_trial, word_aoi_names
from app.core.protocol import load_protocol


def test_font_metrics_match_freetype(demo_protocol_path: Path) -> None:
    p = load_protocol(demo_protocol_path)
    ours = load_font_metrics(p.style.font)
    theirs = ImageFont.truetype(str(p.style.font), 40)
    for text in ["Hello world", "A cup of coffee", "ÄÖÜ éè ß", "tripod,"]:
        # FreeType applies kerning; we draw word by word and allow 1% for it.
        assert ours.text_width(text, 40) == pytest.approx(theirs.getlength(text), rel=0.01)


def test_word_names_follow_pov_release() -> None:
    assert word_aoi_names(["A", "cup", "of", "a", "Coffee."]) == ["txt_a1", "txt_cup", "txt_of", "txt_a2", "txt_coffee"]


def test_word_boxes_cover_the_ink(demo_protocol_path: Path) -> None:
    """Render each word where the layout puts it; the ink must lie inside its box."""
    p = load_protocol(demo_protocol_path)
    trial = p.trials[0]
    lay = layout_trial(p, trial)
    font = ImageFont.truetype(str(p.style.font), int(p.style.font_size_px))
    for word in lay.words:
        canvas = Image.new("L", lay.screen_px, 0)
        ImageDraw.Draw(canvas).text((word.x, word.baseline), word.text, font=font, fill=255, anchor="ls")
        ys, xs = np.nonzero(np.asarray(canvas))
        x0, y0, x1, y1 = word.box
        assert xs.min() >= x0 - 1 and xs.max() <= x1 + 1, word
        assert ys.min() >= y0 - 1 and ys.max() <= y1 + 1, word


def test_layout_places_caption_above_image_and_objects_inside(demo_protocol_path: Path) -> None:
    p = load_protocol(demo_protocol_path)
    for trial in p.all_trials:
        lay = layout_trial(p, trial)
        assert len(lay.word_aois) == len(trial.caption.split())
        assert len(lay.object_aois) == len(trial.aois)
        ix0, iy0, ix1, iy1 = lay.image_rect
        assert max(a.bbox[3] for a in lay.word_aois) <= iy0
        assert 0 <= ix0 < ix1 <= p.screen.width_px and iy1 <= p.screen.height_px
        for a in lay.object_aois:
            bx0, by0, bx1, by1 = a.bbox
            assert ix0 - 1e-6 <= bx0 and bx1 <= ix1 + 1e-6 and iy0 - 1e-6 <= by0 and by1 <= iy1 + 1e-6


def test_caption_that_does_not_fit_is_a_protocol_error(demo_protocol_path: Path) -> None:
    p = load_protocol(demo_protocol_path)
    long = dataclasses.replace(p.trials[0], caption=" ".join(["elephant"] * 80))
    with pytest.raises(ProtocolError, match="below the image top"):
        layout_trial(p, long)
    wide = dataclasses.replace(p.trials[0], caption="x" * 200)
    with pytest.raises(ProtocolError, match="wider than the caption area"):
        layout_trial(p, wide)
