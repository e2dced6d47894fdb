"""Where the ink of the caption is in a picture of the screen, against the layout's word boxes."""

from __future__ import annotations

import numpy as np

from app.core.layout import TrialLayout


def ink_mask(rgb: np.ndarray, background: tuple[int, int, int], ink: tuple[int, int, int]) -> np.ndarray:
    """Pixels closer to the text colour than 40 % of the way from the background (anti-aliasing)."""
    bg, fg = np.array(background, float), np.array(ink, float)
    span = np.abs(fg - bg).sum()
    return np.abs(rgb[..., :3].astype(float) - bg).sum(-1) > 0.4 * span


def check_words(rgb: np.ndarray, layout: TrialLayout, background: tuple[int, int, int],
                ink: tuple[int, int, int], caption_bottom: float, tol: float = 2.0) -> tuple[int, int, list[str]]:
    """Return (ink pixels, ink pixels outside every box, words whose box holds no ink)."""
    mask = ink_mask(rgb, background, ink)
    mask[int(caption_bottom):] = False  # the image below is not caption
    ys, xs = np.nonzero(mask)
    inside = np.zeros(len(xs), bool)
    empty = []
    for w in layout.words:
        x0, y0, x1, y1 = w.box
        hit = (xs >= x0 - tol) & (xs <= x1 + tol) & (ys >= y0 - tol) & (ys <= y1 + tol)
        inside |= hit
        if not hit.any():
            empty.append(w.text)
    return len(xs), int((~inside).sum()), empty
