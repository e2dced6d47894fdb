"""``povlab protocol new``: a folder of images and a captions CSV into a protocol TOML (schema v1).

The CSV (UTF-8, a header row; comma, semicolon or tab separated) has the columns
``image,caption[,expected][,practice]``:

- ``image``: a file name in the images folder (PNG or JPEG);
- ``caption``: the sentence shown above it;
- ``expected``: ``yes``, ``no``, ``unclear`` or empty;
- ``practice``: ``1``/``yes``/``true`` for a practice trial (shown first), empty or ``0`` otherwise.

Every row becomes a trial, in the CSV's order (an image may have several rows: several captions); every
PNG/JPEG file of the folder must have at least one row, so a forgotten caption is an error, not a silently
missing trial. Trial ids are the image's file stem (``-2``, ``-3``... for its further captions). Word AOIs
come from the layout at run time as for any protocol; object AOIs are added later (the AOI editor, or by hand:
``aois = [{ label = "dog", box = [x0, y0, x1, y1] }]`` in image pixels).

The file is written with tomlkit (so the AOI editor can later save into it keeping the user's comments),
through a temporary file that must pass :func:`app.study.check.check_protocol` before it is renamed into
place: a protocol that would not run is never written, and an existing file is never overwritten.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit

from app.core.answers import ANSWERS
from app.core.errors import ProtocolError
from app.core.protocol import SCHEMA_VERSION
from app.study.check import ProtocolCheck, ProtocolCheckError, check_protocol

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
COLUMNS = ("image", "caption", "expected", "practice")
_TRUE = ("1", "yes", "true", "y", "x")
_FALSE = ("", "0", "no", "false", "n")
DEFAULT_INSTRUCTIONS = (
    "You will see a sentence above a picture.\n"
    "Read the sentence and look at the picture.\n"
    "Does the sentence mention the central things in the picture?\n"
    "Press Y for yes, N for no, U if you are unsure.\n"
    "Press any key to start.")


@dataclass(frozen=True)
class ProtocolOptions:
    """Screen and layout of a new protocol (the demo protocol's values by default)."""

    name: str | None = None
    screen_px: tuple[int, int] = (1920, 1080)
    screen_cm: tuple[float, float] = (53.1, 29.9)
    distance_cm: float = 60.0
    font: Path | None = None  # None: the bundled DejaVu Sans
    font_size_px: float = 42.0
    caption_top_px: float = 60.0
    caption_max_width_px: float = 1600.0
    image_top_px: float = 230.0
    image_max_width_px: float = 1400.0
    image_max_height_px: float = 800.0
    fixation_cross_s: float = 1.0
    max_trial_s: float = 8.0
    inter_trial_s: float = 0.5
    validation_targets: int = 9
    instructions: str = field(default=DEFAULT_INSTRUCTIONS)

    def __post_init__(self) -> None:
        if self.validation_targets not in (5, 9):
            raise ProtocolError(f"--validation-targets: expected 5 or 9, got {self.validation_targets}")
        # every other value is checked by the protocol loader when the written file is checked


@dataclass(frozen=True)
class CaptionRow:
    line: int
    image: Path
    caption: str
    expected: str | None
    practice: bool


def read_captions(path: Path, images: Path) -> list[CaptionRow]:
    """The rows of a captions CSV, each naming an existing image of ``images``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ProtocolError(f"{path}: captions file not found") from exc
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{path}: captions file is not UTF-8 text (save it as 'CSV UTF-8')") from exc
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read ({exc.strerror})") from exc
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["image", "caption"] or any(h not in COLUMNS for h in header) or len(set(header)) < len(header):
        raise ProtocolError(f"{path}: line 1: expected the header image,caption[,expected][,practice], got "
                            f"{','.join(header) or 'an empty file'}")
    rows: list[CaptionRow] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise ProtocolError(f"{path}: line {line}: {len(cells)} cells but {len(header)} columns "
                                "(quote a caption that contains the separator)")
        rec = dict(zip(header, (c.strip() for c in cells), strict=False))
        name, caption = rec.get("image", ""), rec.get("caption", "")
        if not name:
            raise ProtocolError(f"{path}: line {line}: image is empty")
        image = images / name
        if Path(name).name != name or not image.is_file():
            raise ProtocolError(f"{path}: line {line}: image {name!r} not found in {images}")
        if not caption:
            raise ProtocolError(f"{path}: line {line}: caption is empty")
        expected = rec.get("expected", "").lower() or None
        if expected is not None and expected not in ANSWERS:
            raise ProtocolError(f"{path}: line {line}: expected must be yes, no, unclear or empty, got {expected!r}")
        practice = rec.get("practice", "").lower()
        if practice not in _TRUE + _FALSE:
            raise ProtocolError(f"{path}: line {line}: practice must be 1/yes/true or 0/no/empty, got {practice!r}")
        rows.append(CaptionRow(line, image, caption, expected, practice in _TRUE))
    if not any(not r.practice for r in rows):
        raise ProtocolError(f"{path}: no (non-practice) trial rows")
    named = {r.image.name for r in rows}
    uncaptioned = sorted(p.name for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                         and p.is_file() and p.name not in named)
    if uncaptioned:
        more = f" and {len(uncaptioned) - 3} more" if len(uncaptioned) > 3 else ""
        raise ProtocolError(f"{path}: images of {images} without a caption row: {', '.join(uncaptioned[:3])}{more} "
                            "(every image becomes a trial)")
    return rows


def _trial_ids(rows: list[CaptionRow]) -> list[str]:
    ids: list[str] = []
    seen: dict[str, int] = {}
    for r in rows:
        base = re.sub(r"[^\w.-]+", "_", r.image.stem).strip("_") or "image"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def protocol_document(rows: list[CaptionRow], out: Path, opts: ProtocolOptions,
                      source: tuple[Path, Path]) -> tomlkit.TOMLDocument:
    """The TOML document of a new protocol (paths relative to ``out``'s folder)."""
    base = out.parent
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"POV Lab protocol made by 'povlab protocol new' from {source[0]} and {source[1]}."))
    doc.add(tomlkit.comment("Edit freely: 'povlab protocol check' tells whether it still runs. Object AOIs go in a "
                            "trial as"))
    doc.add(tomlkit.comment('  aois = [{ label = "dog", box = [x0, y0, x1, y1] }]   (image pixels; or polygon = '
                            "[[x, y], ...])"))
    doc.add("schema_version", SCHEMA_VERSION)
    doc.add("name", opts.name or out.stem)
    doc.add("instructions", tomlkit.string(opts.instructions, multiline=True))
    screen = tomlkit.table()
    screen.add("width_px", opts.screen_px[0])
    screen.add("height_px", opts.screen_px[1])
    screen.add("width_cm", opts.screen_cm[0])
    screen.add("height_cm", opts.screen_cm[1])
    screen.add("distance_cm", opts.distance_cm)
    screen.add("background", "#7f7f7f")
    screen.add("text_color", "#ffffff")
    screen.add("fullscreen", True)
    doc.add(tomlkit.nl())
    doc.add("screen", screen)
    layout = tomlkit.table()
    if opts.font is not None:
        layout.add("font", _rel(opts.font, base))
    for key in ("font_size_px", "caption_top_px", "caption_max_width_px", "image_top_px", "image_max_width_px",
                "image_max_height_px"):
        layout.add(key, getattr(opts, key))
    doc.add("layout", layout)
    timing = tomlkit.table()
    for key in ("fixation_cross_s", "max_trial_s", "inter_trial_s"):
        timing.add(key, getattr(opts, key))
    doc.add("timing", timing)
    responses = tomlkit.table()
    responses.update({"yes": ["y"], "no": ["n"], "unclear": ["u"], "pause": "p", "abort": "escape"})
    doc.add("responses", responses)
    validation = tomlkit.table()
    validation.add("targets", opts.validation_targets)
    doc.add("validation", validation)
    practice, trials = tomlkit.aot(), tomlkit.aot()
    for row, trial_id in zip(rows, _trial_ids(rows), strict=True):
        t = tomlkit.table()
        t.add("id", trial_id)
        t.add("image", _rel(row.image, base))
        t.add("caption", row.caption)
        if row.expected:
            t.add("expected", row.expected)
        t.add("aois", tomlkit.array())
        (practice if row.practice else trials).append(t)
    if len(practice):
        doc.add("practice", practice)
    doc.add("trials", trials)
    return doc


def new_protocol(images: Path, captions: Path, out: Path, opts: ProtocolOptions | None = None) -> ProtocolCheck:
    """Write a new protocol at ``out`` (never overwriting one); returns its check."""
    opts = opts or ProtocolOptions()
    images, captions, out = Path(images), Path(captions), Path(out)
    if not images.is_dir():
        raise ProtocolError(f"{images}: images folder not found")
    if out.exists():
        raise ProtocolError(f"{out}: already exists; a protocol is never overwritten (choose another --out)")
    if out.suffix.lower() != ".toml":
        raise ProtocolError(f"{out}: a protocol file name ends in .toml")
    if not out.parent.is_dir():
        raise ProtocolError(f"{out.parent}: folder for --out not found")
    if opts.font is not None and not Path(opts.font).is_file():
        raise ProtocolError(f"{opts.font}: font file not found")
    rows = read_captions(captions, images)
    doc = protocol_document(rows, out, opts, (images, captions))
    tmp = out.with_name(f".{out.stem}.new.toml")
    try:
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        check_protocol(tmp)
        if out.exists():
            raise ProtocolError(f"{out}: appeared while writing; not overwritten")
        os.replace(tmp, out)
    except ProtocolCheckError as exc:  # name the file the user asked for, not the temporary one
        raise ProtocolCheckError([line.replace(str(tmp), str(out)) for line in exc.problems]) from None
    except ProtocolError as exc:
        raise ProtocolError(str(exc).replace(str(tmp), str(out))) from None
    except OSError as exc:
        raise ProtocolError(f"{out}: cannot write ({exc.strerror})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return check_protocol(out)
