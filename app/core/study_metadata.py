"""The study a protocol belongs to: who runs it and where, for the metadata of exported datasets.

A protocol's optional ``[study]`` table::

    [study]
    authors = ["A. Researcher", "B. Researcher"]   # BIDS dataset_description Authors (two or more)
    institution = "University of Somewhere"         # InstitutionName
    institution_address = "Street 1, City, Country"  # InstitutionAddress
    department = "Department of Psychology"         # InstitutionalDepartmentName
    cogatlas_id = "https://www.cognitiveatlas.org/task/id/trm_..."  # CogAtlasID (a URI)
    cogpo_id = "http://wiki.cogpo.org/index.php?title=..."           # CogPOID (a URI)
    license = "CC0"                                   # dataset License

What the participant is told is the protocol's ``instructions`` (BIDS ``Instructions``). Everything is
optional: the BIDS export leaves out what a protocol does not give (the validator then warns about it).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import ProtocolError

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
MAX_TEXT = 2000
KEYS = ("authors", "institution", "institution_address", "department", "cogatlas_id", "cogpo_id", "license")


@dataclass(frozen=True)
class StudyMetadata:
    authors: tuple[str, ...] = ()
    institution: str = ""
    institution_address: str = ""
    department: str = ""
    cogatlas_id: str = ""
    cogpo_id: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        for name in KEYS:
            values = getattr(self, name) if name == "authors" else (getattr(self, name),)
            for v in values:
                if not isinstance(v, str) or len(v) > MAX_TEXT or any(c in v for c in "\x00\n\r"):
                    raise ValueError(f"study.{name}: expected one line of text (at most {MAX_TEXT} characters)")
        if any(not a.strip() for a in self.authors):
            raise ValueError("study.authors: expected names, got an empty one")
        for name in ("cogatlas_id", "cogpo_id"):
            value = getattr(self, name)
            if value and not _URI.match(value):
                raise ValueError(f"study.{name}: expected a URI like https://..., got {value!r}")


def study_from_table(raw: Any, path: Path) -> StudyMetadata:
    """The ``[study]`` table of a parsed protocol (``None``: no table); ProtocolError naming the key."""
    if raw is None:
        return StudyMetadata()
    if not isinstance(raw, dict):
        raise ProtocolError(f"{path}: study: expected a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ProtocolError(f"{path}: study: unknown key(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    authors = raw.get("authors", [])
    if isinstance(authors, str):
        authors = [authors]
    if not isinstance(authors, list):
        raise ProtocolError(f"{path}: study.authors: expected a list of names, got {authors!r}")
    values = {k: raw[k] for k in KEYS[1:] if k in raw}
    try:
        return StudyMetadata(authors=tuple(authors), **values)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{path}: {exc}") from exc


def load_study(path: Path) -> tuple[StudyMetadata, str]:
    """The study and the instructions of a protocol file, without checking the rest of it (stimuli, fonts)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProtocolError(f"{path}: cannot read the protocol ({exc})") from exc
    instructions = raw.get("instructions", "")
    if not isinstance(instructions, str):
        raise ProtocolError(f"{path}: instructions: expected a string, got {type(instructions).__name__}")
    return study_from_table(raw.get("study"), path), instructions
