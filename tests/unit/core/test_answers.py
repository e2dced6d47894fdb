"""The answer set is defined once (app/core/answers.py) and every part agrees on its order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.answers import ANSWER_CODES, ANSWERS, LABELS, RESPONSES, most_probable
from app.core.markers import CODE_ANSWERS, response_markers

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("probs", "answer"), [((0.6, 0.3, 0.1), "yes"), ((0.1, 0.2, 0.7), "unclear"),
                                               ((0.2, 0.4, 0.4), "no")], ids=["yes", "unclear", "tie-first"])
def test_most_probable(probs: tuple[float, float, float], answer: str) -> None:
    assert most_probable(probs) == answer


def test_most_probable_needs_three() -> None:
    with pytest.raises(ValueError, match="expected 3 probabilities"):
        most_probable([0.5, 0.5])


def test_orders_agree() -> None:
    assert tuple(a.upper() for a in ANSWERS) == LABELS
    assert RESPONSES[-1] == "timeout" and ANSWER_CODES["timeout"] == -1
    assert [CODE_ANSWERS[i] for i in range(3)] == list(ANSWERS)
    assert response_markers("unclear", 0.5)[-1] == "TRIAL_RESULT 2"


def test_no_second_definition_in_the_code() -> None:
    """A tuple literal of the three answers outside app/core/answers.py is a second definition."""
    literal = re.compile(r"""\(\s*["'](yes|YES)["']\s*,\s*["'](no|NO)["']\s*,\s*["'](unclear|UNCLEAR)["']""")
    found = [f"{p.relative_to(ROOT)}:{n}" for folder in ("app", "models") for p in sorted((ROOT / folder).rglob("*.py"))
             if p.name != "answers.py" for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if literal.search(line) and not line.lstrip().startswith("#")]
    assert found == []
