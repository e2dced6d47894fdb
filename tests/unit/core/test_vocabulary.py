"""The vocabulary is defined once: answers in app/core/answers.py, stream names in app/core/streams.py.

A literal copy anywhere else in app/ or models/ is a second definition that can drift; these tests name it.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS, SIM_GAZE

ROOT = Path(__file__).resolve().parents[3]


def _lines(exclude: str) -> list[tuple[str, int, str]]:
    return [(str(p.relative_to(ROOT)), n, line) for folder in ("app", "models")
            for p in sorted((ROOT / folder).rglob("*.py")) if p.name != exclude
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if not line.lstrip().startswith("#")]


def test_no_second_answer_set() -> None:
    literal = re.compile(r"""\(\s*["'](yes|YES)["']\s*,\s*["'](no|NO)["']\s*,\s*["'](unclear|UNCLEAR)["']""")
    assert [f"{f}:{n}" for f, n, line in _lines("answers.py") if literal.search(line)] == []


def test_stream_names_only_from_core_streams() -> None:
    names = [s.name for s in (MARKERS, FIXATIONS, PREDICTIONS, SIM_GAZE)]
    literal = re.compile("|".join(rf"""["']{re.escape(n)}["']""" for n in names))
    assert [f"{f}:{n}" for f, n, line in _lines("streams.py") if literal.search(line)] == []


def test_session_json_is_written_only_as_a_run_metadata_record() -> None:
    """Every writer of session.json goes through write_meta(RunMetadata); a dict written beside it would drift."""
    direct = re.compile(r"write_json_atomic\([^)]*(session_json|_session\.json)")
    assert [f"{f}:{n}" for f, n, line in _lines("files.py") if direct.search(line)] == []
