"""The answer set of the POV task: the one definition every part uses.

The participant judges whether the caption mentions the central entities of the image: YES, NO or
UNCLEAR (the POV study, arXiv 2405.04443). The order is the model's output order (``p_yes, p_no,
p_unclear``), the POV release's ``Answers`` codes (0, 1, 2) and the code of ``TRIAL_RESULT n``
markers; a trial nobody answered in time is ``timeout`` (``TRIAL_RESULT -1``).
"""

from __future__ import annotations

from collections.abc import Sequence

ANSWERS: tuple[str, str, str] = ("yes", "no", "unclear")  # as typed in protocols, markers, trials.tsv
LABELS: tuple[str, str, str] = ("YES", "NO", "UNCLEAR")  # as the model's metadata and the POV release name them
TIMEOUT = "timeout"
RESPONSES: tuple[str, ...] = (*ANSWERS, TIMEOUT)  # what a trial can end with
ANSWER_INDEX: dict[str, int] = {a: i for i, a in enumerate(ANSWERS)}  # class index in the model's output
ANSWER_CODES: dict[str, int] = {**ANSWER_INDEX, TIMEOUT: -1}  # TRIAL_RESULT codes


def most_probable(probs: Sequence[float]) -> str:
    """The answer with the highest probability (``p_yes, p_no, p_unclear``); the first on ties."""
    if len(probs) != len(ANSWERS):
        raise ValueError(f"expected {len(ANSWERS)} probabilities ({', '.join(ANSWERS)}), got {len(probs)}")
    return ANSWERS[max(range(len(ANSWERS)), key=lambda i: probs[i])]
