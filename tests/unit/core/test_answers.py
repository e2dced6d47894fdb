"""The answer set is defined once (app/core/answers.py) and every part agrees on its order."""

from __future__ import annotations

import pytest

from app.core.answers import ANSWER_CODES, ANSWERS, LABELS, RESPONSES, most_probable
from app.core.markers import CODE_ANSWERS, response_markers


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
