"""Protocols: TOML files with a schema version, validated field by field.

Every error names the file, the key and what was expected, e.g.::

    protocols/demo.toml: trials[2].aois[0].box: expected 4 numbers [x0, y0, x1, y1], got 3

Paths inside a protocol (images, font) are relative to the protocol file.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.answers import ANSWERS
from app.core.errors import PovLabError, ProtocolError
from app.core.geometry import ScreenGeometry
from app.core.imagefile import image_size
from app.core.study_metadata import StudyMetadata, study_from_table

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ImageAoi:
    """An object region of the image, in the image's own pixel coordinates."""

    label: str
    polygon: tuple[tuple[float, float], ...]  # closed implicitly; a box has 4 corners


@dataclass(frozen=True)
class Trial:
    trial_id: str
    image: Path
    image_size: tuple[int, int]
    caption: str
    aois: tuple[ImageAoi, ...]
    expected: str | None = None
    practice: bool = False


@dataclass(frozen=True)
class Timing:
    fixation_cross_s: float = 1.0
    max_trial_s: float = 8.0
    inter_trial_s: float = 0.5


@dataclass(frozen=True)
class Responses:
    yes: tuple[str, ...] = ("y",)
    no: tuple[str, ...] = ("n",)
    unclear: tuple[str, ...] = ("u",)
    pause: str = "p"
    abort: str = "escape"

    def answer_for_key(self, key: str) -> str | None:
        for answer in ANSWERS:
            if key in getattr(self, answer):
                return answer
        return None


@dataclass(frozen=True)
class Display:
    background: str = "#7f7f7f"
    text_color: str = "#ffffff"
    fullscreen: bool = True
    screen_index: int = 0


@dataclass(frozen=True)
class LayoutStyle:
    font: Path
    font_size_px: float = 40.0
    line_spacing: float = 1.25
    caption_top_px: float = 60.0
    caption_max_width_px: float = 1600.0
    image_top_px: float = 220.0
    image_max_width_px: float = 1400.0
    image_max_height_px: float = 800.0
    word_margin_px: float = 0.0


@dataclass(frozen=True)
class Protocol:
    path: Path
    name: str
    schema_version: int
    screen: ScreenGeometry
    display: Display
    style: LayoutStyle
    timing: Timing
    responses: Responses
    instructions: str
    validation_targets: int
    trials: tuple[Trial, ...]
    practice: tuple[Trial, ...] = field(default=())
    study: StudyMetadata = field(default_factory=StudyMetadata)  # the [study] table: authors, institution, ...

    @property
    def all_trials(self) -> tuple[Trial, ...]:
        """Practice trials first, then the main trials, in presentation order."""
        return self.practice + self.trials


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file; raises :class:`ProtocolError` with file and key."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProtocolError(f"{p}: protocol file not found") from exc
    except OSError as exc:
        raise ProtocolError(f"{p}: cannot read protocol ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{p}: protocol is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{p}: not valid TOML ({exc})") from exc
    return _Reader(p).protocol(raw)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, key: str, expected: str, got: Any = ...) -> ProtocolError:
        tail = "" if got is ... else f", got {got!r}"
        return ProtocolError(f"{self.path}: {key}: expected {expected}{tail}")

    def table(self, raw: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
        value = raw.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                raise self.fail(key, "a table")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        return value

    def number(self, raw: dict[str, Any], name: str, key: str, default: float | None = None,
               minimum: float = 0.0, strict: bool = True) -> float:
        value = raw.get(name, default)
        if value is None:
            raise self.fail(f"{key}.{name}", "a number (required)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(f"{key}.{name}", "a number", value)
        if value < minimum or (strict and value == minimum):
            op = ">" if strict else ">="
            raise self.fail(f"{key}.{name}", f"a number {op} {minimum:g}", value)
        return float(value)

    def text(self, raw: dict[str, Any], name: str, key: str, default: str | None = None) -> str:
        value = raw.get(name, default)
        if value is None:
            raise self.fail(f"{key}.{name}" if key else name, "a string (required)")
        if not isinstance(value, str):
            raise self.fail(f"{key}.{name}" if key else name, "a string", value)
        return value

    def keys(self, raw: dict[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = raw.get(name, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(k, str) and k for k in value):
            raise self.fail(f"responses.{name}", "a key name or a non-empty list of key names", value)
        return tuple(value)

    def file(self, raw: dict[str, Any], name: str, key: str) -> Path:
        rel = self.text(raw, name, key)
        path = (self.base / rel).resolve()
        if not path.is_file():
            raise ProtocolError(f"{self.path}: {key}.{name}: file not found: {path}")
        return path

    def protocol(self, raw: dict[str, Any]) -> Protocol:
        version = raw.get("schema_version")
        if version is None:
            raise self.fail("schema_version", f"the integer {SCHEMA_VERSION}")
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise self.fail("schema_version", f"{SCHEMA_VERSION} (this POV Lab reads version {SCHEMA_VERSION})", version)
        name = self.text(raw, "name", "", default=self.path.stem)

        s = self.table(raw, "screen", required=True)
        try:
            screen = ScreenGeometry(
                width_px=int(self.number(s, "width_px", "screen")),
                height_px=int(self.number(s, "height_px", "screen")),
                width_cm=self.number(s, "width_cm", "screen"),
                height_cm=self.number(s, "height_cm", "screen"),
                distance_cm=self.number(s, "distance_cm", "screen"),
            )
        except PovLabError as exc:
            raise ProtocolError(f"{self.path}: {exc}") from exc
        full = s.get("fullscreen", True)
        if not isinstance(full, bool):
            raise self.fail("screen.fullscreen", "true or false", full)
        idx = s.get("screen_index", 0)
        if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            raise self.fail("screen.screen_index", "an integer >= 0", idx)
        display = Display(
            background=self.colour(s, "background", "#7f7f7f"),
            text_color=self.colour(s, "text_color", "#ffffff"),
            fullscreen=full,
            screen_index=idx,
        )

        lay = self.table(raw, "layout")
        font = self.file(lay, "font", "layout") if "font" in lay else _default_font()
        d = LayoutStyle(font=font)
        style = LayoutStyle(
            font=font,
            font_size_px=self.number(lay, "font_size_px", "layout", d.font_size_px),
            line_spacing=self.number(lay, "line_spacing", "layout", d.line_spacing),
            caption_top_px=self.number(lay, "caption_top_px", "layout", d.caption_top_px, strict=False),
            caption_max_width_px=self.number(lay, "caption_max_width_px", "layout", d.caption_max_width_px),
            image_top_px=self.number(lay, "image_top_px", "layout", d.image_top_px, strict=False),
            image_max_width_px=self.number(lay, "image_max_width_px", "layout", d.image_max_width_px),
            image_max_height_px=self.number(lay, "image_max_height_px", "layout", d.image_max_height_px),
            word_margin_px=self.number(lay, "word_margin_px", "layout", d.word_margin_px, strict=False),
        )

        t = self.table(raw, "timing")
        timing = Timing(
            fixation_cross_s=self.number(t, "fixation_cross_s", "timing", Timing.fixation_cross_s, strict=False),
            max_trial_s=self.number(t, "max_trial_s", "timing", Timing.max_trial_s),
            inter_trial_s=self.number(t, "inter_trial_s", "timing", Timing.inter_trial_s, strict=False),
        )

        r = self.table(raw, "responses")
        responses = Responses(
            yes=self.keys(r, "yes", Responses.yes),
            no=self.keys(r, "no", Responses.no),
            unclear=self.keys(r, "unclear", Responses.unclear),
            pause=self.text(r, "pause", "responses", Responses.pause),
            abort=self.text(r, "abort", "responses", Responses.abort),
        )
        used = [k for a in ANSWERS for k in getattr(responses, a)] + [responses.pause, responses.abort]
        dup = sorted({k for k in used if used.count(k) > 1})
        if dup:
            raise self.fail("responses", "each key bound to one action only", dup)

        v = self.table(raw, "validation")
        targets = v.get("targets", 9)
        if targets not in (5, 9) or isinstance(targets, bool):
            raise self.fail("validation.targets", "5 or 9", targets)

        instructions = self.text(raw, "instructions", "", default="")
        practice = self.trial_list(raw, "practice", practice=True, required=False)
        trials = self.trial_list(raw, "trials", practice=False, required=True)
        ids = [tr.trial_id for tr in practice + trials]
        dup_ids = sorted({i for i in ids if ids.count(i) > 1})
        if dup_ids:
            raise self.fail("trials", "unique trial ids", dup_ids)
        return Protocol(self.path, name, SCHEMA_VERSION, screen, display, style, timing, responses,
                        instructions, int(targets), trials, practice, study_from_table(raw.get("study"), self.path))

    def colour(self, raw: dict[str, Any], name: str, default: str) -> str:
        value = self.text(raw, name, "screen", default)
        ok = len(value) == 7 and value[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in value[1:])
        if not ok:
            raise self.fail(f"screen.{name}", "a colour like \"#808080\"", value)
        return value.lower()

    def trial_list(self, raw: dict[str, Any], name: str, practice: bool, required: bool) -> tuple[Trial, ...]:
        items = raw.get(name, [] if not required else None)
        if items is None or (required and not items):
            raise self.fail(name, "at least one [[" + name + "]] table")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise self.fail(name, "an array of tables [[" + name + "]]", type(items).__name__)
        return tuple(self.trial(item, f"{name}[{i}]", i, practice) for i, item in enumerate(items))

    def trial(self, raw: dict[str, Any], key: str, index: int, practice: bool) -> Trial:
        trial_id = raw.get("id", f"{'practice' if practice else 'trial'}-{index + 1}")
        if not isinstance(trial_id, str) or not trial_id or any(c.isspace() for c in trial_id):
            raise self.fail(f"{key}.id", "a non-empty string without spaces", trial_id)
        image = self.file(raw, "image", key)
        size = image_size(image)
        caption = self.text(raw, "caption", key).strip()
        if not caption.split():
            raise self.fail(f"{key}.caption", "a non-empty caption", caption)
        expected = raw.get("expected")
        if expected is not None and expected not in ANSWERS:
            raise self.fail(f"{key}.expected", " or ".join(ANSWERS), expected)
        aoi_raw = raw.get("aois", [])
        if not isinstance(aoi_raw, list):
            raise self.fail(f"{key}.aois", "an array of tables [[...aois]]", aoi_raw)
        aois = tuple(self.aoi(a, f"{key}.aois[{j}]", size) for j, a in enumerate(aoi_raw))
        return Trial(trial_id, image, size, caption, aois, expected, practice)

    def aoi(self, raw: Any, key: str, size: tuple[int, int]) -> ImageAoi:
        if not isinstance(raw, dict):
            raise self.fail(key, "a table with label and box or polygon", raw)
        label = self.text(raw, "label", key)
        if not label.strip():
            raise self.fail(f"{key}.label", "a non-empty label", label)
        if ("box" in raw) == ("polygon" in raw):
            raise self.fail(key, "exactly one of box = [x0, y0, x1, y1] or polygon = [[x, y], ...]")
        if "box" in raw:
            box = raw["box"]
            if not isinstance(box, list) or len(box) != 4 or not all(_is_num(v) for v in box):
                raise self.fail(f"{key}.box", "4 numbers [x0, y0, x1, y1]", box)
            x0, y0, x1, y1 = (float(v) for v in box)
            if not (x0 < x1 and y0 < y1):
                raise self.fail(f"{key}.box", "x0 < x1 and y0 < y1", box)
            poly: tuple[tuple[float, float], ...] = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        else:
            pts = raw["polygon"]
            ok = isinstance(pts, list) and len(pts) >= 3 and all(
                isinstance(q, list) and len(q) == 2 and all(_is_num(v) for v in q) for q in pts)
            if not ok:
                raise self.fail(f"{key}.polygon", "at least 3 points [[x, y], ...]", pts)
            poly = tuple((float(q[0]), float(q[1])) for q in pts)
        w, h = size
        if any(x < 0 or y < 0 or x > w or y > h for x, y in poly):
            raise self.fail(f"{key}", f"coordinates inside the image (0..{w}, 0..{h} px)", [list(q) for q in poly])
        return ImageAoi(label.strip(), poly)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _default_font() -> Path:
    from app.core.paths import ASSETS_DIR

    return ASSETS_DIR / "fonts" / "DejaVuSans.ttf"
