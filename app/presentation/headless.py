"""The timed, windowless presenter: trials advance by time; markers are still published.

First the validation targets (``VALIDATION_TARGET k x y`` ... ``VALIDATION_END``, one
``target_s`` each), then the trials.

Each trial: its TRIALID/TRIAL_VAR/IAREA markers and ``FIXCROSS_ONSET``, the fixation cross for
``timing.fixation_cross_s``, ``STIM_ONSET``, then the stimulus until the simulated participant
answers (with ``simulate_participant``) or ``timing.max_trial_s`` passes (a timeout), then
``STIM_OFFSET`` with the response markers, and the inter-trial interval. Time stamps are the LSL
clock at the moment each (virtual) screen starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.core.layout import layout_trial
from app.core.markers import response_markers, trial_start_markers
from app.core.presenting import MarkerSink, TrialOutcome
from app.core.protocol import Protocol
from app.core.validation import VALIDATION_END, target_positions, validation_target_marker
from app.presentation.simulated import SimulatedParticipant


class HeadlessPresenter:
    def __init__(self, simulate_participant: bool = True, seed: int | None = None,
                 time_scale: float = 1.0, validation: bool = True, target_s: float = 1.0) -> None:
        self.participant = SimulatedParticipant(seed=seed) if simulate_participant else None
        self.time_scale = time_scale  # < 1 runs faster than real time (tests)
        self.validation = validation
        self.target_s = target_s

    def _stopped(self, stop: threading.Event, seconds: float, markers: MarkerSink) -> bool:
        """Wait ``seconds`` (scaled); if the session is stopped meanwhile, send ``ABORT`` and say so."""
        if stop.wait(seconds * self.time_scale):
            markers.push("ABORT", markers.clock())
            return True
        return False

    def validate(self, protocol: Protocol, markers: MarkerSink, stop: threading.Event) -> bool:
        """The validation targets (protocol's 5 or 9), each shown ``target_s``; False if stopped."""
        for k, (x, y) in enumerate(target_positions(protocol.screen, protocol.validation_targets), start=1):
            markers.push(validation_target_marker(k, x, y), markers.clock())
            if self._stopped(stop, self.target_s, markers):
                return False
        markers.push(VALIDATION_END, markers.clock())
        return True

    def run(self, protocol: Protocol, markers: MarkerSink, stop: threading.Event,
            on_trial: Callable[[TrialOutcome], None]) -> list[TrialOutcome]:
        outcomes: list[TrialOutcome] = []
        timing = protocol.timing
        if self.validation and not self.validate(protocol, markers, stop):
            return outcomes
        for number, trial in enumerate(protocol.all_trials, start=1):
            if self._stopped(stop, 0.0, markers):
                break
            lay = layout_trial(protocol, trial)
            t = markers.clock()
            for m in [*trial_start_markers(number, trial, lay), "FIXCROSS_ONSET"]:
                markers.push(m, t)
            if self._stopped(stop, timing.fixation_cross_s, markers):
                break
            onset = markers.clock()
            markers.push("STIM_ONSET", onset)
            if self.participant is not None:
                sim = self.participant.answer(trial, timing.max_trial_s)
                answer, rt = sim.answer, sim.rt_s
            else:
                answer, rt = "timeout", None
            shown = timing.max_trial_s if rt is None else rt
            aborted = stop.wait(shown * self.time_scale)
            offset = markers.clock()
            markers.push("STIM_OFFSET", offset)
            if aborted:
                markers.push("ABORT", offset)
                break
            rt_real = None if rt is None else offset - onset
            for m in response_markers(answer, rt_real):
                markers.push(m, offset)
            outcome = TrialOutcome(number, trial.trial_id, trial.practice, onset, offset, answer, rt_real)
            outcomes.append(outcome)
            on_trial(outcome)
            if self._stopped(stop, timing.inter_trial_s, markers):
                break
        return outcomes
