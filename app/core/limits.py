"""Limits and checks shared by every reader of user files (protocols, gaze files, manifests, metadata).

Hostile or broken input must end in one clear error, never in a crash, a hang or a file written
somewhere unexpected. The helpers here are the pieces every reader uses for that:

- :func:`finite_number` (no bool, no NaN/inf, no 10**400 that overflows float);
- :func:`unknown_keys` (strict schemas that name the typo and suggest the key meant: ``widht_px`` -> ``width_px``);
- :func:`nesting_depth` (JSON/TOML nested thousands deep, checked without recursion);
- :func:`control_chars` (NUL, newlines and other control characters in labels and names);
- :func:`safe_filename` (a file name built from user text never climbs out of its folder).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterable
from typing import Any

MAX_INT = 2**53  # larger integers do not survive the float conversion every reader makes
MAX_DEPTH = 32  # nesting of JSON/TOML values: real files need 4 or 5 levels
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def finite_number(value: Any) -> bool:
    """A real number that converts to a finite float (bool, NaN, inf and huge integers are not)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_INT <= value <= MAX_INT
    return isinstance(value, float) and math.isfinite(value)


def unknown_keys(raw: dict[str, Any], allowed: Iterable[str], where: str) -> str | None:
    """A message naming the first key of ``raw`` not in ``allowed`` (with a "did you mean"), or None."""
    allowed = tuple(allowed)
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(allowed)})"
            prefix = f"{where}." if where else ""
            return f"{prefix}{key}: unknown key{hint}"
    return None


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Depth of nested lists/dicts (a scalar is 0), computed without recursion; stops counting past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((c, depth) for c in children)
    return deepest


def control_chars(text: str, allow_newlines: bool = False) -> bool:
    """True when ``text`` holds a control character (NUL, newline, escape, ...); tabs count too."""
    for c in text:
        if c in "\n\r" and allow_newlines:
            continue
        if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029":
            return True
    return False


def safe_filename(text: str, max_len: int = 64) -> str:
    """A file name made from user text: letters, digits, ``.``, ``_`` and ``-`` only, never ``.``/``..``,
    at most ``max_len`` characters; text that had to be changed gets a short hash so two names stay apart."""
    clean = _UNSAFE.sub("_", text).strip("._-")
    if clean == text and 0 < len(text) <= max_len:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{clean[: max_len - 11]}-{digest}" if clean else digest


def json_loads_bounded(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises ValueError (never RecursionError) for text nested deeper than ``max_depth``."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ValueError(f"nested deeper than {max_depth} levels") from exc
    if nesting_depth(value, max_depth) > max_depth:
        raise ValueError(f"nested deeper than {max_depth} levels")
    return value
