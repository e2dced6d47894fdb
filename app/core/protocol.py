"""Protocols: TOML files with a schema version, validated field by field.

Every error names the file, the key and what was expected, e.g.::

    protocols/demo.toml: trials[2].aois[0].box: expected 4 numbers [x0, y0, x1, y1], got 3

Paths inside a protocol (images, font) are relative to the protocol file. Every table accepts only its
known keys (a typo fails with a "did you mean"), and every size, count and value has a limit
(:data:`LIMITS`, documented in ``docs/protocol.md``), so a hostile file ends in one clear error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.answers import ANSWERS
from app.core.errors import PovLabError, ProtocolError
from app.core.fontmetrics import load_font_metrics
from app.core.geometry import ScreenGeometry
from app.core.imagefile import image_size
from app.core.limits import control_chars, finite_number, nesting_depth, unknown_keys
from app.core.protocol_schema import (
    KEYS,
    LIMITS,
    MAX_AOIS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_PATH_CHARS,
    MAX_POINTS,
    MAX_TEXT,
    MAX_TRIALS,
    ZERO_OK,
    key_name,
    short,
)
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


def load_protocol(path: str | Path, whole_images: bool = True) -> Protocol:
    """Read and validate a protocol file; raises :class:`ProtocolError` with file and key.

    ``whole_images=False``: images are read by their header only (``povlab protocol check`` decodes each one
    itself, to list every broken image instead of stopping at the first)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise ProtocolError(f"{p}: protocol file not found") from exc
    except (OSError, ValueError) as exc:
        raise ProtocolError(f"{p}: cannot read protocol ({getattr(exc, 'strerror', None) or exc})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ProtocolError(f"{p}: protocol is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8-sig")  # a UTF-8 byte-order mark (Windows editors) is fine
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{p}: protocol is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{p}: not valid TOML ({exc})") from exc
    except RecursionError as exc:
        raise ProtocolError(f"{p}: values nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits (Python's int conversion limit)
        raise ProtocolError(f"{p}: not valid TOML ({str(exc)[:100]})") from exc
    if nesting_depth(raw, MAX_DEPTH) > MAX_DEPTH:
        raise ProtocolError(f"{p}: values nested deeper than {MAX_DEPTH} levels")
    return _Reader(p, whole_images).protocol(raw)


class _Reader:
    def __init__(self, path: Path, whole_images: bool = True) -> None:
        self.path = path
        self.base = path.parent
        self.whole_images = whole_images

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
        self.check_keys(value, KEYS[key], key)
        return value

    def check_keys(self, raw: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        problem = unknown_keys(raw, allowed, where)
        if problem:
            raise ProtocolError(f"{self.path}: {problem}")

    def number(self, raw: dict[str, Any], name: str, key: str, default: float | None = None) -> float:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if value is None:
            raise self.fail(full, "a number (required)")
        if not finite_number(value):
            raise self.fail(full, "a number", short(value))
        low, high = LIMITS[full]
        strict = full not in ZERO_OK
        if value < low or (strict and value == low) or value > high:
            raise self.fail(full, f"a number {'>' if strict else '>='} {low:g} and <= {high:g}", value)
        return float(value)

    def pixels(self, raw: dict[str, Any], name: str, key: str) -> int:
        value = self.number(raw, name, key)
        if value != int(value):
            raise self.fail(f"{key}.{name}", "a whole number of pixels", raw.get(name))
        return int(value)

    def text(self, raw: dict[str, Any], name: str, key: str, default: str | None = None,
             limit: str | None = None, newlines: bool = False) -> str:
        value = raw.get(name, default)
        full = f"{key}.{name}" if key else name
        if value is None:
            raise self.fail(full, "a string (required)")
        if not isinstance(value, str):
            raise self.fail(full, "a string", short(value))
        most = MAX_TEXT.get(limit or name, MAX_PATH_CHARS)
        if len(value) > most:
            raise self.fail(full, f"at most {most} characters", f"{len(value)} characters")
        if control_chars(value, allow_newlines=newlines):
            raise self.fail(full, "text without control characters (NUL, tab" + ("" if newlines else ", newline")
                            + ")", short(value))
        return value

    def keys(self, raw: dict[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = raw.get(name, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or len(value) > 20 or not all(key_name(k) for k in value):
            raise self.fail(f"responses.{name}", "a key name or a non-empty list of key names", short(value))
        return tuple(value)

    def file(self, raw: dict[str, Any], name: str, key: str) -> Path:
        rel = self.text(raw, name, key, limit="path")
        if not rel.strip():
            raise self.fail(f"{key}.{name}", "a file path", rel)
        try:
            path = (self.base / rel).resolve()
            found = path.is_file()
        except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
            raise ProtocolError(f"{self.path}: {key}.{name}: cannot use this path ({exc})") from exc
        if not found:
            raise ProtocolError(f"{self.path}: {key}.{name}: file not found: {path}")
        return path

    def protocol(self, raw: dict[str, Any]) -> Protocol:
        self.check_keys(raw, KEYS[""], "")
        version = raw.get("schema_version")
        if version is None:
            raise self.fail("schema_version", f"the integer {SCHEMA_VERSION}")
        if not isinstance(version, int) or version != SCHEMA_VERSION or isinstance(version, bool):
            raise self.fail("schema_version", f"{SCHEMA_VERSION} (this POV Lab reads version {SCHEMA_VERSION})",
                            short(version))
        name = self.text(raw, "name", "", default=self.path.stem[: MAX_TEXT["name"]])
        if not name.strip():
            raise self.fail("name", "a non-empty name", name)

        s = self.table(raw, "screen", required=True)
        try:
            screen = ScreenGeometry(
                width_px=self.pixels(s, "width_px", "screen"),
                height_px=self.pixels(s, "height_px", "screen"),
                width_cm=self.number(s, "width_cm", "screen"),
                height_cm=self.number(s, "height_cm", "screen"),
                distance_cm=self.number(s, "distance_cm", "screen"),
            )
        except ProtocolError:
            raise  # already names the file and the key
        except PovLabError as exc:
            raise ProtocolError(f"{self.path}: {exc}") from exc
        full = s.get("fullscreen", True)
        if not isinstance(full, bool):
            raise self.fail("screen.fullscreen", "true or false", short(full))
        idx = s.get("screen_index", 0)
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx <= 16:
            raise self.fail("screen.screen_index", "an integer from 0 to 16", short(idx))
        display = Display(
            background=self.colour(s, "background", "#7f7f7f"),
            text_color=self.colour(s, "text_color", "#ffffff"),
            fullscreen=full,
            screen_index=idx,
        )

        lay = self.table(raw, "layout")
        font = self.file(lay, "font", "layout") if "font" in lay else _default_font()
        try:
            load_font_metrics(font)  # the whole font is checked now (bounded time and memory), not mid-session
        except ProtocolError as exc:
            raise ProtocolError(f"{self.path}: layout.font: {exc}") from exc
        d = LayoutStyle(font=font)
        style = LayoutStyle(
            font=font,
            font_size_px=self.number(lay, "font_size_px", "layout", d.font_size_px),
            line_spacing=self.number(lay, "line_spacing", "layout", d.line_spacing),
            caption_top_px=self.number(lay, "caption_top_px", "layout", d.caption_top_px),
            caption_max_width_px=self.number(lay, "caption_max_width_px", "layout", d.caption_max_width_px),
            image_top_px=self.number(lay, "image_top_px", "layout", d.image_top_px),
            image_max_width_px=self.number(lay, "image_max_width_px", "layout", d.image_max_width_px),
            image_max_height_px=self.number(lay, "image_max_height_px", "layout", d.image_max_height_px),
            word_margin_px=self.number(lay, "word_margin_px", "layout", d.word_margin_px),
        )

        t = self.table(raw, "timing")
        timing = Timing(
            fixation_cross_s=self.number(t, "fixation_cross_s", "timing", Timing.fixation_cross_s),
            max_trial_s=self.number(t, "max_trial_s", "timing", Timing.max_trial_s),
            inter_trial_s=self.number(t, "inter_trial_s", "timing", Timing.inter_trial_s),
        )

        r = self.table(raw, "responses")
        responses = Responses(
            yes=self.keys(r, "yes", Responses.yes),
            no=self.keys(r, "no", Responses.no),
            unclear=self.keys(r, "unclear", Responses.unclear),
            pause=self.key_text(r, "pause", Responses.pause),
            abort=self.key_text(r, "abort", Responses.abort),
        )
        used = [k for a in ANSWERS for k in getattr(responses, a)] + [responses.pause, responses.abort]
        dup = sorted({k for k in used if used.count(k) > 1})
        if dup:
            raise self.fail("responses", "each key bound to one action only", dup)

        v = self.table(raw, "validation")
        targets = v.get("targets", 9)
        if not isinstance(targets, int) or targets not in (5, 9) or isinstance(targets, bool):
            raise self.fail("validation.targets", "5 or 9", short(targets))

        instructions = self.text(raw, "instructions", "", default="", newlines=True)
        practice = self.trial_list(raw, "practice", practice=True, required=False)
        trials = self.trial_list(raw, "trials", practice=False, required=True, before=len(practice))
        ids = [tr.trial_id for tr in practice + trials]
        dup_ids = sorted({i for i in ids if ids.count(i) > 1})
        if dup_ids:
            raise self.fail("trials", "unique trial ids", dup_ids)
        return Protocol(self.path, name, SCHEMA_VERSION, screen, display, style, timing, responses,
                        instructions, int(targets), trials, practice, study_from_table(raw.get("study"), self.path))

    def key_text(self, raw: dict[str, Any], name: str, default: str) -> str:
        value = raw.get(name, default)
        if not key_name(value):
            raise self.fail(f"responses.{name}", "a key name (e.g. \"p\", \"escape\")", short(value))
        return str(value)

    def colour(self, raw: dict[str, Any], name: str, default: str) -> str:
        value = self.text(raw, name, "screen", default)
        ok = len(value) == 7 and value[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in value[1:])
        if not ok:
            raise self.fail(f"screen.{name}", "a colour like \"#808080\"", value)
        return value.lower()

    def trial_list(self, raw: dict[str, Any], name: str, practice: bool, required: bool,
                   before: int = 0) -> tuple[Trial, ...]:
        items = raw.get(name, [] if not required else None)
        if items is None or (required and not items):
            raise self.fail(name, "at least one [[" + name + "]] table")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise self.fail(name, "an array of tables [[" + name + "]]", type(items).__name__)
        if before + len(items) > MAX_TRIALS:
            raise self.fail(name, f"at most {MAX_TRIALS} trials (practice included)", before + len(items))
        return tuple(self.trial(item, f"{name}[{i}]", i, practice) for i, item in enumerate(items))

    def trial(self, raw: dict[str, Any], key: str, index: int, practice: bool) -> Trial:
        self.check_keys(raw, KEYS["trial"], key)
        trial_id = raw.get("id", f"{'practice' if practice else 'trial'}-{index + 1}")
        if (not isinstance(trial_id, str) or not trial_id or len(trial_id) > MAX_TEXT["id"]
                or any(c.isspace() for c in trial_id) or control_chars(trial_id)):
            raise self.fail(f"{key}.id", f"a non-empty string of at most {MAX_TEXT['id']} characters without "
                            "spaces", short(trial_id))
        image = self.file(raw, "image", key)
        try:
            size = image_size(image, self.whole_images)  # the whole file is checked, not only its header
        except ProtocolError as exc:
            raise ProtocolError(f"{self.path}: {key}.image: {exc}") from exc
        caption = self.text(raw, "caption", key).strip()
        if not caption.split():
            raise self.fail(f"{key}.caption", "a non-empty caption", caption)
        expected = raw.get("expected")
        if expected is not None and expected not in ANSWERS:
            raise self.fail(f"{key}.expected", " or ".join(ANSWERS), short(expected))
        aoi_raw = raw.get("aois", [])
        if not isinstance(aoi_raw, list):
            raise self.fail(f"{key}.aois", "an array of tables [[...aois]]", short(aoi_raw))
        if len(aoi_raw) > MAX_AOIS:
            raise self.fail(f"{key}.aois", f"at most {MAX_AOIS} areas of interest", len(aoi_raw))
        aois = tuple(self.aoi(a, f"{key}.aois[{j}]", size) for j, a in enumerate(aoi_raw))
        return Trial(trial_id, image, size, caption, aois, expected, practice)

    def aoi(self, raw: Any, key: str, size: tuple[int, int]) -> ImageAoi:
        if not isinstance(raw, dict):
            raise self.fail(key, "a table with label and box or polygon", short(raw))
        self.check_keys(raw, KEYS["aoi"], key)
        label = self.text(raw, "label", key)
        if not label.strip():
            raise self.fail(f"{key}.label", "a non-empty label", label)
        if ("box" in raw) == ("polygon" in raw):
            raise self.fail(key, "exactly one of box = [x0, y0, x1, y1] or polygon = [[x, y], ...]")
        if "box" in raw:
            box = raw["box"]
            if not isinstance(box, list) or len(box) != 4 or not all(_is_num(v) for v in box):
                raise self.fail(f"{key}.box", "4 numbers [x0, y0, x1, y1]", short(box))
            x0, y0, x1, y1 = (float(v) for v in box)
            if not (x0 < x1 and y0 < y1):
                raise self.fail(f"{key}.box", "x0 < x1 and y0 < y1", box)
            poly: tuple[tuple[float, float], ...] = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        else:
            pts = raw["polygon"]
            ok = isinstance(pts, list) and 3 <= len(pts) <= MAX_POINTS and all(
                isinstance(q, list) and len(q) == 2 and all(_is_num(v) for v in q) for q in pts)
            if not ok:
                raise self.fail(f"{key}.polygon", f"3 to {MAX_POINTS} points [[x, y], ...]", short(pts))
            poly = tuple((float(q[0]), float(q[1])) for q in pts)
        w, h = size
        if any(x < 0 or y < 0 or x > w or y > h for x, y in poly):
            raise self.fail(f"{key}", f"coordinates inside the image (0..{w}, 0..{h} px)",
                            short([list(q) for q in poly]))
        return ImageAoi(label.strip(), poly)


def _is_num(v: Any) -> bool:
    return finite_number(v)


def _default_font() -> Path:
    from app.core.paths import ASSETS_DIR

    return ASSETS_DIR / "fonts" / "DejaVuSans.ttf"
