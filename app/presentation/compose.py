"""The stimulus screen as one picture: the image and the caption at their layout positions.

The caption's words are drawn one by one with the protocol's font file at the positions
computed by :func:`app.core.layout.layout_trial` (left edge of the advance box, baseline),
with FreeType through Pillow (``anchor="ls"``: left origin, baseline). The participant
screen shows the composed picture pixel for pixel (one texel per screen pixel), so the
word boxes used as AOIs are where the ink is; ``tests/presentation`` checks this on a
frame grabbed from the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import ProtocolError
from app.core.layout import TrialLayout
from app.core.protocol import Protocol, Trial

if TYPE_CHECKING:  # Pillow is imported where an image is decoded
    from PIL.Image import Image as PILImage
    from PIL.ImageFont import FreeTypeFont


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def decode_image(path: Path, where: str) -> PILImage:
    """Decode an image file completely (not just its header); RGB Pillow image."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ProtocolError(f"{where}: image {path} cannot be decoded ({exc})") from exc


def load_font(protocol: Protocol) -> FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(str(protocol.style.font), size=protocol.style.font_size_px)
    except OSError as exc:
        raise ProtocolError(f"{protocol.path}: layout.font: {protocol.style.font} cannot be loaded "
                            f"as a font ({exc})") from exc


def compose_stimulus(protocol: Protocol, trial: Trial, layout: TrialLayout,
                     image: PILImage | None = None) -> PILImage:
    """Background, scaled image and caption words in one RGB picture of the screen's size."""
    from PIL import Image, ImageDraw

    w, h = layout.screen_px
    canvas = Image.new("RGB", (w, h), hex_rgb(protocol.display.background))
    src = image if image is not None else decode_image(trial.image, f"{protocol.path}: trial {trial.trial_id}")
    x0, y0, x1, y1 = (round(v) for v in layout.image_rect)
    canvas.paste(src.resize((max(1, x1 - x0), max(1, y1 - y0)), Image.Resampling.LANCZOS), (x0, y0))
    draw = ImageDraw.Draw(canvas)
    font = load_font(protocol)
    ink = hex_rgb(protocol.display.text_color)
    for word in layout.words:
        draw.text((word.x, word.baseline), word.text, font=font, fill=ink, anchor="ls")
    return canvas
