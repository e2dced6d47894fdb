"""The online pipeline of a running session, on its own worker thread.

gaze source -> online fixation detection -> AOI of the current trial -> fixations outlet
-> live model -> predictions outlet; and a :class:`FixationMapped` / :class:`PredictionUpdated`
event for each step. The presenter's markers (via :meth:`on_marker`) tell it which trial is
on screen: fixations that start after ``STIM_ONSET`` and end before ``STIM_OFFSET`` belong to it.

Event-driven: the worker blocks in :meth:`GazeSource.wait_for_new` and wakes as soon as the
acquisition thread has written a chunk; the chunk goes through the detector at once, and each
fixation it completes is mapped and predicted on the spot (no polling period in between).
Every part is a port of :mod:`app.core.ports`, so the unit test drives it with fakes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.aoi import AoiIndex, map_fixations
from app.core.gaze_events import GazeEvent
from app.core.layout import TrialLayout, layout_trial
from app.core.markers import parse_marker
from app.core.ports import GazeSource, LiveModel, OnlineEventDetector, SampleOutlet
from app.core.protocol import Protocol, Trial
from app.session.updates import FixationMapped, PredictionUpdated, SessionEvent

log = logging.getLogger(__name__)

AOI_MARGIN_DEG = 0.5


@dataclass
class TrialState:
    number: int
    trial: Trial
    layout: TrialLayout
    mapper: AoiIndex  # the layout's AOIs prepared for mapping (once per trial, not per fixation)
    onset: float = float("inf")
    offset: float = float("inf")
    fixations: list[tuple[int, float]] = field(default_factory=list)  # (aoi_index, duration_s)
    probs: tuple[float, float, float] | None = None


class LivePipeline:
    def __init__(self, protocol: Protocol, buffer: GazeSource, detector: OnlineEventDetector,
                 fixation_outlet: SampleOutlet, prediction_outlet: SampleOutlet, predictor: LiveModel | None,
                 participant: str, emit: Callable[[SessionEvent], None], wait_s: float = 0.05) -> None:
        """``wait_s``: the longest the worker blocks waiting for samples before it looks at :meth:`stop`."""
        if not wait_s > 0:
            raise ValueError(f"live pipeline: wait_s must be > 0, got {wait_s!r}")
        self.protocol = protocol
        self.buffer = buffer
        self.detector = detector
        self.fix_out = fixation_outlet
        self.pred_out = prediction_outlet
        self.predictor = predictor
        self.participant = participant
        self.emit = emit
        self.wait_s = wait_s
        self.trials = {i: t for i, t in enumerate(protocol.all_trials, start=1)}
        # every trial laid out and its AOIs prepared now (about 1 ms a trial), not when its TRIALID comes: that
        # Python work on the presenter's thread would hold the GIL while the worker maps and predicts
        self._layouts: dict[int, tuple[TrialLayout, AoiIndex]] = {}
        for n, trial in self.trials.items():
            layout = layout_trial(protocol, trial)
            self._layouts[n] = (layout, AoiIndex(layout.aois, protocol.screen, AOI_MARGIN_DEG))
        self.states: dict[int, TrialState] = {}
        self._current: TrialState | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._index = 0
        self.error: BaseException | None = None
        self.n_fixations = 0
        self.cpu_s = 0.0  # CPU time of the worker thread so far

    # -- markers from the presenter (any thread) ----------------------------------------
    def on_marker(self, text: str, timestamp: float) -> None:
        m = parse_marker(text)
        if m.kind == "TRIALID" and m.args and m.args[0].isdigit() and int(m.args[0]) in self.trials:
            n = int(m.args[0])
            layout, mapper = self._layouts[n]
            st = TrialState(n, self.trials[n], layout, mapper)
            with self._lock:
                self.states[n] = st
                self._current = st
            return
        with self._lock:
            if m.kind == "STIM_ONSET" and self._current is not None:
                self._current.onset = timestamp
            elif m.kind == "STIM_OFFSET" and self._current is not None:
                self._current.offset = timestamp

    def final_prediction(self, number: int) -> tuple[float, float, float] | None:
        with self._lock:
            st = self.states.get(number)
            return None if st is None else st.probs

    # -- worker ----------------------------------------------------------------------------
    def start(self) -> None:
        self._index = self.buffer.total_written
        self._thread = threading.Thread(target=self._run, name="live-pipeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.buffer.wake()
        if self._thread is not None:
            self._thread.join(5.0)
        if self.error is not None and os.environ.get("POVLAB_RAISE_WORKER_ERRORS") == "1":
            raise self.error

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.buffer.wait_for_new(self._index, self.wait_s):
                    self.step()
                self.cpu_s = time.thread_time()
        except Exception as exc:  # logged, pipeline off; recording goes on
            self.error = exc
            log.exception("live pipeline stopped: %s", exc)

    def step(self) -> int:
        """Process the samples that arrived since the last step; returns fixations completed."""
        block, self._index = self.buffer.since(self._index)
        if len(block) == 0:
            return 0
        done = 0
        for ev in self.detector.feed(block):
            if ev.kind == "fixation":
                self._on_fixation(ev)
                done += 1
        return done

    def _on_fixation(self, ev: GazeEvent) -> None:
        with self._lock:
            st = self._current
            in_trial = st is not None and ev.onset >= st.onset and ev.offset <= st.offset + 0.05
            number = st.number if (st is not None and in_trial) else 0
            aoi = int(map_fixations([ev], st.layout, self.protocol.screen, AOI_MARGIN_DEG, st.mapper)[0]) \
                if (st is not None and in_trial) else -1
            if st is not None and in_trial:
                st.fixations.append((aoi, ev.duration))
                fixations = list(st.fixations)
        self.n_fixations += 1
        # aoi_index on the stream is 1-based like !V IAREA; -1 = off every AOI or between trials
        self.fix_out.push([ev.onset, ev.duration, ev.x, ev.y, float(number), float(aoi + 1 if aoi >= 0 else -1)])
        self.emit(FixationMapped(number, ev, aoi))
        if st is None or not in_trial or self.predictor is None:
            return
        probs = self.predictor.update(st.trial.trial_id, self.participant, fixations)
        p = (float(probs[0]), float(probs[1]), float(probs[2]))
        with self._lock:
            st.probs = p
        self.pred_out.push([float(number), *p, float(len(fixations))])
        self.emit(PredictionUpdated(number, st.trial.trial_id, p, len(fixations)))
