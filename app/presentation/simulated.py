"""A simulated participant: answers each trial by itself after a plausible delay.

Reaction times of two-choice verification tasks on a picture and a sentence are right-skewed
and well described by a lognormal distribution (Ulrich & Miller 1993, "Information processing
models generating lognormally distributed reaction times", J. Math. Psychol. 37:513-525);
here the median is ``rt_median_s`` (2.2 s by default: reading a one-line caption, looking at
the picture, deciding) and the log-SD 0.35, which puts 90 % of the answers between about
1.2 s and 3.9 s. Answers agree with the trial's expected answer with probability ``agreement``
(the POV study found participants diverge from the majority on a sizeable share of items);
otherwise they are the other answer or, with ``unclear_rate``, UNCLEAR. An answer later than
the trial's limit becomes a timeout, as it would for a person.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from app.core.errors import PresentationError
from app.core.protocol import Trial


@dataclass(frozen=True)
class SimulatedAnswer:
    answer: str  # yes | no | unclear | timeout
    rt_s: float | None  # None on timeout


class SimulatedParticipant:
    def __init__(self, seed: int | None = None, rt_median_s: float = 2.2, rt_log_sd: float = 0.35,
                 agreement: float = 0.85, unclear_rate: float = 0.08) -> None:
        if not (rt_median_s > 0 and rt_log_sd >= 0 and 0 <= agreement <= 1 and 0 <= unclear_rate <= 1):
            raise PresentationError("simulated participant: rt_median_s > 0, rt_log_sd >= 0 and "
                                    "agreement, unclear_rate in [0, 1] expected")
        self.rng = random.Random(seed)
        self.rt_median_s = rt_median_s
        self.rt_log_sd = rt_log_sd
        self.agreement = agreement
        self.unclear_rate = unclear_rate

    def reaction_time(self) -> float:
        return self.rng.lognormvariate(math.log(self.rt_median_s), self.rt_log_sd)

    def answer(self, trial: Trial, max_trial_s: float) -> SimulatedAnswer:
        rt = self.reaction_time()
        if rt >= max_trial_s:
            return SimulatedAnswer("timeout", None)
        if self.rng.random() < self.unclear_rate:
            return SimulatedAnswer("unclear", rt)
        expected = trial.expected if trial.expected in ("yes", "no") else self.rng.choice(("yes", "no"))
        if self.rng.random() < self.agreement:
            return SimulatedAnswer(expected, rt)
        return SimulatedAnswer("no" if expected == "yes" else "yes", rt)

    def reading_time(self, text: str) -> float:
        """Time to read a text screen and press a key: ~4 words/s plus a reaction time."""
        return len(text.split()) / 4.0 * (self.rt_median_s / 2.2) + self.reaction_time() / 2
