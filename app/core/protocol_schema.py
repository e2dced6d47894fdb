"""The protocol schema's limits: every key a table accepts and every size, count and value limit.

Documented for users in ``docs/protocol.md``; :mod:`app.core.protocol` enforces them.
"""

from __future__ import annotations

from typing import Any

from app.core.answers import ANSWERS
from app.core.limits import control_chars

MAX_FILE_BYTES = 4 * 2**20
MAX_DEPTH = 10  # protocol -> trials -> trial -> aois -> aoi -> polygon -> point is 7
MAX_TRIALS = 2000  # practice and main trials together
MAX_AOIS = 200  # per trial
MAX_POINTS = 1000  # per polygon
MAX_PATH_CHARS = 1024
MAX_TEXT = {"name": 100, "caption": 500, "label": 100, "instructions": 10_000, "key": 32, "id": 64}
MAX_SCREEN_PX = 16384
KEYS = {
    "": ("schema_version", "name", "instructions", "screen", "layout", "timing", "responses", "validation",
         "practice", "trials", "study"),
    "screen": ("width_px", "height_px", "width_cm", "height_cm", "distance_cm", "background", "text_color",
               "fullscreen", "screen_index"),
    "layout": ("font", "font_size_px", "line_spacing", "caption_top_px", "caption_max_width_px", "image_top_px",
               "image_max_width_px", "image_max_height_px", "word_margin_px"),
    "timing": ("fixation_cross_s", "max_trial_s", "inter_trial_s"),
    "responses": (*ANSWERS, "pause", "abort"),
    "validation": ("targets",),
    "trial": ("id", "image", "caption", "expected", "aois"),
    "aoi": ("label", "box", "polygon"),
}
# (minimum, maximum) of every number; the minimum is excluded unless the key is in ZERO_OK
LIMITS: dict[str, tuple[float, float]] = {
    "screen.width_px": (0, MAX_SCREEN_PX), "screen.height_px": (0, MAX_SCREEN_PX),
    "screen.width_cm": (1, 1000), "screen.height_cm": (1, 1000), "screen.distance_cm": (10, 1000),
    "layout.font_size_px": (4, 400), "layout.line_spacing": (0.5, 5), "layout.caption_top_px": (0, MAX_SCREEN_PX),
    "layout.caption_max_width_px": (0, MAX_SCREEN_PX), "layout.image_top_px": (0, MAX_SCREEN_PX),
    "layout.image_max_width_px": (0, MAX_SCREEN_PX), "layout.image_max_height_px": (0, MAX_SCREEN_PX),
    "layout.word_margin_px": (0, 1000),
    "timing.fixation_cross_s": (0, 60), "timing.max_trial_s": (0, 3600), "timing.inter_trial_s": (0, 60),
}
ZERO_OK = {"layout.caption_top_px", "layout.image_top_px", "layout.word_margin_px", "timing.fixation_cross_s",
            "timing.inter_trial_s", "layout.font_size_px", "layout.line_spacing", "screen.width_cm",
            "screen.height_cm", "screen.distance_cm"}


def key_name(v: Any) -> bool:
    """A keyboard key name: non-empty, short, printable, no spaces."""
    return (isinstance(v, str) and 0 < len(v) <= MAX_TEXT["key"] and not control_chars(v)
            and not any(c.isspace() for c in v))


def short(value: Any, most: int = 80) -> Any:
    """A value for an error message: long ones cut (a 100,000-character name is not repeated back)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return value if len(text) <= most else f"{text[:most]}... ({len(text)} characters)"
