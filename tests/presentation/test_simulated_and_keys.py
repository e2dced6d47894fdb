from __future__ import annotations

import statistics

import pytest

from app.core.protocol import Responses, Trial
from app.presentation.child import key_action
from app.presentation.simulated import SimulatedParticipant

RESPONSES = Responses(yes=("y", "j"), no=("n",), unclear=("u",), pause="p", abort="escape")


@pytest.mark.parametrize("key,action", [
    pytest.param("y", "yes", id="yes"), pytest.param("j", "yes", id="second-yes-key"),
    pytest.param("n", "no", id="no"), pytest.param("u", "unclear", id="unclear"),
    pytest.param("p", "pause", id="pause"), pytest.param("escape", "abort", id="abort"),
    pytest.param("space", None, id="other"),
])
def test_key_action(key: str, action: str | None) -> None:
    assert key_action(key, RESPONSES) == action


def _trial(expected: str | None) -> Trial:
    from pathlib import Path

    return Trial("t", Path("x.jpg"), (10, 10), "a caption", (), expected)


def test_simulated_participant_is_plausible_and_biased_to_the_expected_answer() -> None:
    sim = SimulatedParticipant(seed=5)
    answers = [sim.answer(_trial("no"), max_trial_s=8.0) for _ in range(400)]
    rts = [a.rt_s for a in answers if a.rt_s is not None]
    assert 1.9 < statistics.median(rts) < 2.5 and min(rts) > 0.5
    share = {k: sum(a.answer == k for a in answers) / len(answers) for k in ("yes", "no", "unclear", "timeout")}
    assert share["no"] > 0.7 and 0.02 < share["yes"] < 0.25 and share["unclear"] < 0.2


def test_a_late_simulated_answer_is_a_timeout() -> None:
    sim = SimulatedParticipant(seed=1, rt_median_s=5.0)
    answers = [sim.answer(_trial("yes"), max_trial_s=3.0) for _ in range(100)]
    assert any(a.answer == "timeout" and a.rt_s is None for a in answers)
    assert all(a.rt_s is None or a.rt_s < 3.0 for a in answers)


def test_simulated_participant_is_reproducible_with_a_seed() -> None:
    a = [SimulatedParticipant(seed=3).answer(_trial(None), 8.0) for _ in range(3)]
    b = [SimulatedParticipant(seed=3).answer(_trial(None), 8.0) for _ in range(3)]
    assert a == b
