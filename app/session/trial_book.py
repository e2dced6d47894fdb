"""What the session does when the presenter reports a finished trial.

:class:`TrialBook` writes the trial's row (answer, reaction time, the live model's final prediction, the
fixations it saw), keeps the model's agreement with the participant's answers (main trials only), says
:class:`TrialFinished`, and refits the participant's few-shot personalisation after every answered trial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

from app.core.answers import ANSWERS, most_probable
from app.core.ports import SessionModel
from app.core.presenting import TrialOutcome
from app.core.protocol import Protocol
from app.session.live import LivePipeline
from app.session.run_record import RunRecord
from app.session.updates import PersonalisationUpdated, SessionEvent, TrialFinished


class TrialBook:
    def __init__(self, protocol: Protocol, live: LivePipeline, record: RunRecord, model: SessionModel | None,
                 participant: str, emit: Callable[[SessionEvent], None]) -> None:
        self.protocol = protocol
        self.live = live
        self.record = record
        self.model = model
        self.participant = participant
        self.emit = emit
        self.outcomes: list[TrialOutcome] = []
        self._agree: list[bool] = []
        self._answered: list[tuple[str, Sequence[tuple[int, float]], str]] = []

    @property
    def agreement(self) -> float | None:
        """Share of answered main trials whose most probable answer was the participant's (None: none yet)."""
        return sum(self._agree) / len(self._agree) if self._agree else None

    def on_trial(self, outcome: TrialOutcome) -> None:
        probs = self.live.final_prediction(outcome.number)
        predicted = None if probs is None else most_probable(probs)
        if predicted is not None and outcome.response in ANSWERS and not outcome.practice:
            self._agree.append(predicted == outcome.response)
        trial = self.protocol.all_trials[outcome.number - 1]
        state = self.live.states.get(outcome.number)
        self.record.add_trial({
            **asdict(outcome), "practice": int(outcome.practice),
            "rt_ms": None if outcome.rt_s is None else f"{outcome.rt_s * 1000:.1f}",
            "expected": trial.expected, "p_yes": None if probs is None else probs[0],
            "p_no": None if probs is None else probs[1], "p_unclear": None if probs is None else probs[2],
            "n_fixations": 0 if state is None else len(state.fixations)})
        self.outcomes.append(outcome)
        self.emit(TrialFinished(outcome, predicted, self.agreement))
        if self.model is not None and outcome.response in ANSWERS and state is not None:
            # few-shot personalisation: refitted after every answered trial, practice and main alike; a
            # trial's own prediction was made before its answer, so the answer only shapes later trials
            self._answered.append((state.trial.trial_id, state.fixations, outcome.response))
            bias = self.model.personalise(self.participant, self._answered)
            self.emit(PersonalisationUpdated(self.participant, len(self._answered),
                                             (float(bias[0]), float(bias[1]), float(bias[2]))))
