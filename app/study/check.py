"""``povlab protocol check P.toml``: everything a session's preparation checks, without a tracker or a display.

1. the protocol loads (:func:`app.core.protocol.load_protocol`: schema, every key, files present, image sizes
   from their headers, object AOIs inside their image);
2. the font loads and has a glyph for every character of every caption (a missing glyph is drawn as a box
   and the word AOIs would not match the ink);
3. every trial lays out on the screen (:func:`app.core.layout.layout_trial`, the function the presenter, the
   simulated tracker and the AOI mapping use): caption words fit the caption area, the caption ends above
   the image, the image fits below it;
4. every image decodes (Pillow; JPEGs in draft mode, which still reads all of the compressed data, so a
   truncated or corrupt file fails), each file once.

Problems are collected over all trials, not only the first; :class:`ProtocolCheckError` carries them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.errors import ProtocolError
from app.core.fontmetrics import load_font_metrics
from app.core.layout import TrialLayout, layout_trial
from app.core.protocol import Protocol, Trial, load_protocol


class ProtocolCheckError(ProtocolError):
    """One or more problems found by :func:`check_protocol`; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


@dataclass(frozen=True)
class TrialCheck:
    trial: Trial
    layout: TrialLayout

    def summary(self) -> str:
        t, lay = self.trial, self.layout
        iw, ih = t.image_size
        x0, y0, x1, y1 = lay.image_rect
        lines = len({w.baseline for w in lay.words})
        kind = "practice" if t.practice else "trial"
        return (f"{kind} {t.trial_id}: {t.image.name} {iw}x{ih} shown at {x1 - x0:.0f}x{y1 - y0:.0f} px "
                f"(scale {lay.image_scale:.2f}); {len(lay.word_aois)} words on {lines} line{'s' * (lines > 1)}; "
                f"{len(lay.object_aois)} object AOIs; expected {t.expected or '-'}")


@dataclass(frozen=True)
class ProtocolCheck:
    protocol: Protocol
    trials: tuple[TrialCheck, ...]

    def summary(self) -> str:
        p = self.protocol
        return (f"{p.path}: {p.name!r} OK: {len(p.practice)} practice + {len(p.trials)} trials, "
                f"{len({t.image for t in p.all_trials})} images, screen {p.screen.width_px}x{p.screen.height_px} px, "
                f"font {p.style.font.name} {p.style.font_size_px:g} px")


def decode_image(path: Path) -> None:
    """Decode the pixels of an image file (ProtocolError when it does not decode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
            im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ProtocolError(f"{path}: image does not decode ({exc})") from exc


def _missing_glyphs(protocol: Protocol, trial: Trial) -> list[str]:
    font = load_font_metrics(protocol.style.font)
    chars = dict.fromkeys(c for c in trial.caption if not c.isspace() and ord(c) not in font.cmap)  # caption order
    return [f"{c!r} (U+{ord(c):04X})" for c in chars]


def check_protocol(path: str | Path) -> ProtocolCheck:
    """Check a protocol as a session's preparation would; raises :class:`ProtocolCheckError` listing every problem."""
    # images are decoded below, each problem listed; a broken file stops here (one error: the rest cannot be read)
    protocol = load_protocol(path, whole_images=False)
    problems: list[str] = []
    decoded: dict[Path, str | None] = {}
    checks: list[TrialCheck] = []
    for trial in protocol.all_trials:
        where = f"{protocol.path}: trial {trial.trial_id}"
        missing = _missing_glyphs(protocol, trial)
        if missing:
            problems.append(f"{where}: caption characters not in the font {protocol.style.font.name}: "
                            + ", ".join(missing))
        if trial.image not in decoded:
            try:
                decode_image(trial.image)
                decoded[trial.image] = None
            except ProtocolError as exc:
                decoded[trial.image] = str(exc)
        if decoded[trial.image] is not None:
            problems.append(f"{where}: {decoded[trial.image]}")
        try:
            layout = layout_trial(protocol, trial)
        except ProtocolError as exc:
            problems.append(str(exc))
            continue
        sw, sh = layout.screen_px
        for aoi in layout.aois:
            x0, y0, x1, y1 = aoi.bbox
            if x0 < 0 or y0 < 0 or x1 > sw or y1 > sh:
                problems.append(f"{where}: AOI {aoi.name} reaches off the screen ({x0:.0f}, {y0:.0f}, {x1:.0f}, "
                                f"{y1:.0f} px on a {sw}x{sh} screen)")
        checks.append(TrialCheck(trial, layout))
    if problems:
        raise ProtocolCheckError(problems)
    return ProtocolCheck(protocol, tuple(checks))
