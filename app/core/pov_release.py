"""Reader for the POV study's release format (arXiv 2405.04443, ``rawData/fixations_*.csv``).

One tab-separated row per trial with the header::

    ImageID  Respondent Name  AOI Label  Fixation X  Fixation Y  Fixation Dispersion  Fixation Duration  Answers

The AOI and fixation columns are comma-separated lists in time order. The release's label noise is cleaned
here, once, for training and evaluation alike (see ``shared/data/README.md``):

- mixed case (``txt_Blue3``) -> lower case; stray quotes and spaces are stripped;
- typos of the prefix (``vix_`` -> ``vis_``, ``tct_`` -> ``txt_``); anything else unknown counts as ``off``;
- one fixation listed twice in a row with two labels (same x, y and duration) is kept once, with its first label.

The release has no captions and no images. :func:`stimulus_tokens` rebuilds, per image, the caption's word tokens
(the union of the ``txt_`` labels seen on that image, in reading order of their mean fixation position: line, then
x) and the object tokens (``vis_`` labels, ordered by mean position too).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import GazeDataError
from app.core.features import Fixation, Token

HEADER = ("ImageID", "Respondent Name", "AOI Label", "Fixation X", "Fixation Y", "Fixation Dispersion",
          "Fixation Duration", "Answers")
_PREFIX_FIX = {"txt": "txt", "tct": "txt", "txl": "txt", "vis": "vis", "vix": "vis"}
_COUNT_SUFFIX = re.compile(r"^(?P<word>.*?\S)\s*(?P<k>\d+)$")
LINE_GAP_PX = 30.0  # mean-y difference that starts a new caption line


@dataclass(frozen=True)
class PovFixation:
    label: str  # cleaned: "off", "txt_<word>[k]" or "vis_<object>[k]"
    x: float
    y: float
    duration_ms: float


@dataclass(frozen=True)
class PovTrial:
    image_id: str
    participant: str
    fixations: tuple[PovFixation, ...]
    answer: int  # 0 YES, 1 NO, 2 UNCLEAR
    line: int  # line number in the file (1-based, header = 1)

    def __post_init__(self) -> None:
        if self.answer not in (0, 1, 2):
            raise GazeDataError(f"line {self.line}: answer must be 0, 1 or 2, got {self.answer}")


def clean_label(raw: str) -> str:
    """One AOI label of the release, cleaned (see the module docstring)."""
    s = raw.strip().strip("\"'").strip().lower()
    if s == "off" or "_" not in s:
        return "off"
    prefix, rest = s.split("_", 1)
    kind = _PREFIX_FIX.get(prefix)
    rest = rest.strip()
    if kind is None or not rest:
        return "off"
    return f"{kind}_{rest}"


def label_text(label: str) -> str:
    """The word or object name behind a cleaned label: ``txt_ski2`` -> ``ski``, ``txt_1300 1`` -> ``1300``."""
    rest = label.split("_", 1)[1]
    m = _COUNT_SUFFIX.match(rest)
    if m and not m.group("word").isdigit():
        return m.group("word").strip()
    if m and " " in rest:  # "1300 1": a number word with its repeat count after a space
        return m.group("word").strip()
    return rest


def token_for_label(label: str) -> Token:
    """The model token of a cleaned ``txt_``/``vis_`` label (POV release and this app's AOI names alike)."""
    clean = clean_label(label)
    if clean == "off":
        return Token("word", "")
    return Token("word" if clean.startswith("txt_") else "object", label_text(clean))


MAX_COORDINATE_PX = 1e6  # |x|, |y|: further than this from the screen is not a gaze position
MAX_DURATION_MS = 60_000.0
MAX_FILE_BYTES = 512 * 2**20


def _floats(cell: str, path: Path, line: int, column: str, low: float, high: float) -> list[float]:
    try:
        values = [float(v.strip().strip('"')) for v in cell.split(",") if v.strip().strip('"')]
    except ValueError as exc:
        raise GazeDataError(f"{path}: line {line}: column {column!r}: expected comma-separated numbers") from exc
    for v in values:
        if not low <= v <= high:  # also false for NaN
            raise GazeDataError(f"{path}: line {line}: column {column!r}: {v!r} is not a number from {low:g} to "
                                f"{high:g}")
    return values


def read_pov_csv(path: str | Path) -> list[PovTrial]:
    """Read a ``fixations_*.csv`` of the POV release; raises :class:`GazeDataError` naming file, line and column."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise GazeDataError(f"{p}: larger than {MAX_FILE_BYTES // 2**20} MiB; not a POV release file")
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise GazeDataError(f"{p}: POV CSV not found") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise GazeDataError(f"{p}: cannot read as UTF-8 text ({exc})") from exc
    if "\x00" in text:
        raise GazeDataError(f"{p}: line {text[:text.index(chr(0))].count(chr(10)) + 1}: a NUL byte; not a text file")
    # Quotes are data here (stray ones are part of the release's label noise), never CSV quoting.
    try:
        rows = [[c.strip().strip('"').strip() for c in r]
                for r in csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)]
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit (131,072 characters)
        raise GazeDataError(f"{p}: not a readable tab-separated file ({exc})") from exc
    if not rows or tuple(c.strip() for c in rows[0]) != HEADER:
        got = "\\t".join(rows[0]) if rows else "an empty file"
        raise GazeDataError(f"{p}: header must be the POV release's tab-separated {' | '.join(HEADER)}; "
                            f"got {got[:120]!r}")
    trials: list[PovTrial] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(HEADER):
            raise GazeDataError(f"{p}: line {line}: expected {len(HEADER)} tab-separated columns, got {len(row)}")
        answer_raw = row[7].strip()
        if answer_raw not in ("0", "1", "2"):
            raise GazeDataError(f"{p}: line {line}: column 'Answers': unknown label {answer_raw!r} "
                                f"(expected 0=YES, 1=NO or 2=UNCLEAR)")
        labels = [clean_label(v) for v in row[2].split(",")] if row[2].strip() else []
        xs = _floats(row[3], p, line, "Fixation X", -MAX_COORDINATE_PX, MAX_COORDINATE_PX)
        ys = _floats(row[4], p, line, "Fixation Y", -MAX_COORDINATE_PX, MAX_COORDINATE_PX)
        ds = _floats(row[6], p, line, "Fixation Duration", 0.0, MAX_DURATION_MS)
        if not (len(labels) == len(xs) == len(ys) == len(ds)):
            raise GazeDataError(f"{p}: line {line}: AOI Label, Fixation X, Y and Duration list "
                                f"{len(labels)}, {len(xs)}, {len(ys)} and {len(ds)} entries; expected equal counts")
        fixes: list[PovFixation] = []
        for lab, x, y, d in zip(labels, xs, ys, ds, strict=True):
            prev = fixes[-1] if fixes else None
            if prev is not None and prev.x == x and prev.y == y and prev.duration_ms == d:
                continue  # one fixation listed twice with two labels: keep the first
            fixes.append(PovFixation(lab, x, y, d))
        trials.append(PovTrial(row[0].strip(), row[1].strip(), tuple(fixes), int(answer_raw), line))
    if not trials:
        raise GazeDataError(f"{p}: no trials after the header")
    return trials


def _reading_order(positions: dict[str, list[tuple[float, float]]]) -> list[str]:
    """Labels sorted by mean fixation position: lines (mean y gaps > LINE_GAP_PX) top to bottom, then x."""
    means = {k: (sum(x for x, _ in v) / len(v), sum(y for _, y in v) / len(v)) for k, v in positions.items()}
    by_y = sorted(means, key=lambda k: (means[k][1], k))
    line_of: dict[str, int] = {}
    line, last_y = 0, None
    for k in by_y:
        y = means[k][1]
        if last_y is not None and y - last_y > LINE_GAP_PX:
            line += 1
        line_of[k] = line
        last_y = y
    return sorted(means, key=lambda k: (line_of[k], means[k][0], k))


def stimulus_tokens(trials: Iterable[PovTrial], known: Mapping[str, Sequence[str]] | None = None
                    ) -> dict[str, tuple[tuple[str, ...], tuple[Token, ...]]]:
    """Per image id: (the cleaned labels, one per token) and the tokens (words first, then objects).

    ``known``: labels per image id as a model was trained with them (carried in its metadata); such an image keeps
    that token order, and labels seen only in ``trials`` are appended (words before objects, reading order).
    """
    pos: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for t in trials:
        for f in t.fixations:
            if f.label != "off":
                pos[t.image_id][f.label].append((f.x, f.y))
    out: dict[str, tuple[tuple[str, ...], tuple[Token, ...]]] = {}
    for image_id, by_label in pos.items():
        words = _reading_order({k: v for k, v in by_label.items() if k.startswith("txt_")})
        objects = _reading_order({k: v for k, v in by_label.items() if k.startswith("vis_")})
        base = [clean_label(k) for k in (known or {}).get(image_id, ())]
        if base:
            new = [k for k in words + objects if k not in set(base)]
            old_words = [k for k in base if k.startswith("txt_")]
            old_objects = [k for k in base if not k.startswith("txt_")]
            words = old_words + [k for k in new if k.startswith("txt_")]
            objects = old_objects + [k for k in new if not k.startswith("txt_")]
        labels = tuple(words + objects)
        out[image_id] = (labels, tuple(token_for_label(k) for k in labels))
    return out


def trial_fixations(trial: PovTrial, labels: Sequence[str]) -> list[Fixation]:
    """The trial's fixations as token indices (-1 off or not a token), durations in s, onsets summed from 0."""
    index = {k: i for i, k in enumerate(labels)}
    out: list[Fixation] = []
    onset = 0.0
    for f in trial.fixations:
        dur = f.duration_ms / 1000.0
        out.append(Fixation(index.get(f.label, -1), dur, onset))
        onset += dur
    return out
