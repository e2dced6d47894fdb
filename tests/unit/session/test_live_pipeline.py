"""The live pipeline driven by fakes (no LSL, no ONNX): AOIs, trial boundaries, predictions, the worker."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from app.core.gaze import GazeBlock, GazeRingBuffer
from app.core.gaze_events import GazeEvent
from app.core.layout import layout_trial
from app.core.ports import GazeSource, LiveModel, OnlineEventDetector, SampleOutlet
from app.core.protocol import Protocol, load_protocol
from app.session.live import LivePipeline
from app.session.updates import FixationMapped, PredictionUpdated, SessionEvent

RATE = 1000.0
ONSET, OFFSET = 10.0, 14.0


def fixation(onset: float, offset: float, x: float, y: float) -> GazeEvent:
    return GazeEvent("fixation", onset, offset, offset - onset, x, y, float("nan"), float("nan"))


def centre(bbox: tuple[float, float, float, float]) -> tuple[float, float]:
    return (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2


def samples(t0: float, t1: float) -> GazeBlock:
    t = np.arange(round(t0 * RATE), round(t1 * RATE)) / RATE
    return GazeBlock.from_arrays(t, np.full_like(t, 960.0), np.full_like(t, 540.0))


class ScriptedDetector:
    """Reports each scripted event once a sample later than its offset has been fed (as an online detector does)."""

    def __init__(self, events: Sequence[GazeEvent]) -> None:
        self.pending = sorted(events, key=lambda e: e.offset)
        self.fed: list[GazeBlock] = []

    def feed(self, block: GazeBlock) -> list[GazeEvent]:
        self.fed.append(block)
        if len(block) == 0:
            return []
        done = [e for e in self.pending if e.offset < block.t[-1]]
        self.pending = [e for e in self.pending if e not in done]
        return done


class CountingModel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[tuple[int, float]]]] = []

    def update(self, trial_id: str, participant_id: str, fixations: Sequence[tuple[int, float]]) -> list[float]:
        self.calls.append((trial_id, participant_id, list(fixations)))
        n = len(fixations)
        return [0.5 + 0.1 * n, 0.4 - 0.1 * n, 0.1]


class ListOutlet:
    def __init__(self) -> None:
        self.samples: list[list[float]] = []

    def push(self, values: str | Sequence[float], timestamp: float | None = None) -> None:
        assert not isinstance(values, str)
        self.samples.append([float(v) for v in values])


@pytest.fixture
def protocol(demo_protocol_path) -> Protocol:
    return load_protocol(demo_protocol_path)


def make(protocol: Protocol, events: Sequence[GazeEvent], model: CountingModel | None = None,
         source: GazeSource | None = None) -> tuple[LivePipeline, ScriptedDetector, ListOutlet, ListOutlet,
                                                    list[SessionEvent]]:
    detector, fix_out, pred_out = ScriptedDetector(events), ListOutlet(), ListOutlet()
    emitted: list[SessionEvent] = []
    # the fakes satisfy the ports (mypy checks these annotations)
    ports: tuple[OnlineEventDetector, SampleOutlet, LiveModel | None] = (detector, fix_out, model)
    live = LivePipeline(protocol, source or GazeRingBuffer(60.0, RATE), ports[0], fix_out, pred_out, ports[2], "P07",
                        emitted.append)
    return live, detector, fix_out, pred_out, emitted


def start_trial(live: LivePipeline, number: int = 1) -> None:
    live.on_marker(f"TRIALID {number}", ONSET - 1.0)
    live.on_marker("FIXCROSS_ONSET", ONSET - 1.0)
    live.on_marker("STIM_ONSET", ONSET)


def feed(live: LivePipeline, buffer: GazeRingBuffer, block: GazeBlock) -> int:
    buffer.extend(block.t, block.x, block.y, block.pupil)
    return live.step()


def test_a_fixation_on_a_word_is_mapped_and_predicted_in_the_same_step(protocol: Protocol) -> None:
    layout = layout_trial(protocol, protocol.all_trials[0])
    word = layout.aois[2]  # the third caption word
    model = CountingModel()
    buffer = GazeRingBuffer(60.0, RATE)
    ev = fixation(ONSET + 0.2, ONSET + 0.45, *centre(word.bbox))
    live, detector, fix_out, pred_out, emitted = make(protocol, [ev], model, buffer)
    start_trial(live)
    assert feed(live, buffer, samples(ONSET, ONSET + 0.3)) == 0  # the fixation has not ended yet
    assert emitted == [] and model.calls == []
    assert feed(live, buffer, samples(ONSET + 0.3, ONSET + 0.5)) == 1  # the chunk that ends it
    # mapped, pushed, predicted and emitted within this one step
    assert emitted[0] == FixationMapped(1, ev, 2)
    assert fix_out.samples == [[ev.onset, ev.duration, ev.x, ev.y, 1.0, 3.0]]  # 1-based AOI on the stream
    trial_id = protocol.all_trials[0].trial_id
    assert model.calls == [(trial_id, "P07", [(2, pytest.approx(0.25))])]
    probs = (pytest.approx(0.6), pytest.approx(0.3), pytest.approx(0.1))
    assert isinstance(emitted[1], PredictionUpdated)
    assert (emitted[1].number, emitted[1].trial_id, emitted[1].probs, emitted[1].n_fixations) == (1, trial_id, probs, 1)
    assert pred_out.samples == [[1.0, *probs, 1.0]]
    assert live.final_prediction(1) == probs
    assert live.n_fixations == 1
    # every sample went to the detector once, in order
    t = np.concatenate([b.t for b in detector.fed])
    assert len(t) == 500 and np.all(np.diff(t) > 0)


def test_fixations_accumulate_in_the_trial_and_off_aoi_counts_as_minus_one(protocol: Protocol) -> None:
    layout = layout_trial(protocol, protocol.all_trials[0])
    obj = layout.object_aois[0]
    model = CountingModel()
    buffer = GazeRingBuffer(60.0, RATE)
    events = [fixation(ONSET + 0.2, ONSET + 0.4, *centre(layout.aois[0].bbox)),
              fixation(ONSET + 0.5, ONSET + 0.9, *centre(obj.bbox)),
              fixation(ONSET + 1.0, ONSET + 1.2, 5.0, 1075.0)]  # bottom-left corner: no AOI
    live, _, fix_out, pred_out, emitted = make(protocol, events, model, buffer)
    start_trial(live)
    assert feed(live, buffer, samples(ONSET, ONSET + 1.5)) == 3
    k = layout.aois.index(obj)
    assert [e.aoi_index for e in emitted if isinstance(e, FixationMapped)] == [0, k, -1]
    assert [s[5] for s in fix_out.samples] == [1.0, k + 1.0, -1.0]
    assert [len(c[2]) for c in model.calls] == [1, 2, 3]
    assert [a for a, _ in model.calls[-1][2]] == [0, k, -1]
    assert [s[4] for s in pred_out.samples] == [1.0, 2.0, 3.0]
    assert live.states[1].fixations == [(a, pytest.approx(d)) for a, d in model.calls[-1][2]]


def test_fixations_outside_the_stimulus_belong_to_no_trial(protocol: Protocol) -> None:
    layout = layout_trial(protocol, protocol.all_trials[0])
    x, y = centre(layout.aois[1].bbox)
    model = CountingModel()
    buffer = GazeRingBuffer(60.0, RATE)
    events = [fixation(ONSET - 0.3, ONSET - 0.1, x, y),  # on the fixation cross, before the onset
              fixation(ONSET - 0.05, ONSET + 0.2, x, y),  # starts before the onset
              fixation(OFFSET - 0.2, OFFSET + 0.03, x, y),  # ends within 50 ms of the offset: counts
              fixation(OFFSET - 0.1, OFFSET + 0.2, x, y)]  # ends well after the offset
    live, _, fix_out, pred_out, emitted = make(protocol, events, model, buffer)
    start_trial(live)
    live.on_marker("STIM_OFFSET", OFFSET)
    assert feed(live, buffer, samples(ONSET - 0.5, OFFSET + 0.5)) == 4
    mapped = [e for e in emitted if isinstance(e, FixationMapped)]
    assert [(e.number, e.aoi_index) for e in mapped] == [(0, -1), (0, -1), (1, 1), (0, -1)]
    assert [s[4:] for s in fix_out.samples] == [[0.0, -1.0], [0.0, -1.0], [1.0, 2.0], [0.0, -1.0]]
    assert len(model.calls) == 1 and len(pred_out.samples) == 1
    assert live.n_fixations == 4


def test_between_trials_and_before_any_trial(protocol: Protocol) -> None:
    model = CountingModel()
    buffer = GazeRingBuffer(60.0, RATE)
    events = [fixation(1.0, 1.3, 960.0, 540.0), fixation(ONSET + 0.1, ONSET + 0.3, 960.0, 540.0)]
    live, _, fix_out, _, emitted = make(protocol, events, model, buffer)
    feed(live, buffer, samples(0.5, 2.0))  # no TRIALID yet
    live.on_marker("TRIALID 99", ONSET - 1)  # not a trial of the protocol: ignored
    live.on_marker("STIM_ONSET", ONSET)
    feed(live, buffer, samples(2.0, ONSET + 0.5))
    assert [(e.number, e.aoi_index) for e in emitted if isinstance(e, FixationMapped)] == [(0, -1), (0, -1)]
    assert model.calls == [] and live.final_prediction(99) is None
    assert len(fix_out.samples) == 2


def test_the_second_trial_starts_a_new_fixation_list(protocol: Protocol) -> None:
    model = CountingModel()
    buffer = GazeRingBuffer(60.0, RATE)
    events = [fixation(ONSET + 0.1, ONSET + 0.3, 960.0, 540.0), fixation(ONSET + 5.1, ONSET + 5.3, 960.0, 540.0)]
    live, _, _, _, emitted = make(protocol, events, model, buffer)
    start_trial(live, 1)
    live.on_marker("STIM_OFFSET", ONSET + 1)
    feed(live, buffer, samples(ONSET, ONSET + 1))
    live.on_marker("TRIALID 2", ONSET + 4)
    live.on_marker("STIM_ONSET", ONSET + 5)
    feed(live, buffer, samples(ONSET + 1, ONSET + 6))
    assert [(c[0], len(c[2])) for c in model.calls] == [(protocol.all_trials[0].trial_id, 1),
                                                        (protocol.all_trials[1].trial_id, 1)]
    assert [e.number for e in emitted if isinstance(e, PredictionUpdated)] == [1, 2]
    assert live.final_prediction(1) is not None and live.final_prediction(2) is not None


def test_without_a_model_fixations_are_still_mapped(protocol: Protocol) -> None:
    buffer = GazeRingBuffer(60.0, RATE)
    live, _, fix_out, pred_out, emitted = make(protocol, [fixation(ONSET + 0.1, ONSET + 0.3, 960, 540)], None, buffer)
    start_trial(live)
    assert feed(live, buffer, samples(ONSET, ONSET + 0.5)) == 1
    assert len(fix_out.samples) == 1 and pred_out.samples == []
    assert [type(e) for e in emitted] == [FixationMapped]


def test_other_events_are_not_fixations(protocol: Protocol) -> None:
    buffer = GazeRingBuffer(60.0, RATE)
    sacc = GazeEvent("saccade", ONSET + 0.1, ONSET + 0.13, 0.03, 900.0, 500.0, 5.0, 300.0)
    live, _, fix_out, _, emitted = make(protocol, [sacc], CountingModel(), buffer)
    start_trial(live)
    assert feed(live, buffer, samples(ONSET, ONSET + 0.5)) == 0
    assert emitted == [] and fix_out.samples == []


def test_the_worker_wakes_on_each_chunk_and_predicts(protocol: Protocol) -> None:
    """The threaded path: samples written into the ring buffer wake the worker (no polling period)."""
    buffer = GazeRingBuffer(60.0, RATE)
    early = samples(ONSET - 1.0, ONSET - 0.5)
    buffer.extend(early.t, early.x, early.y)  # written before start(): not fed
    ev = fixation(ONSET + 0.1, ONSET + 0.3, 960.0, 540.0)
    predicted = threading.Event()
    model = CountingModel()
    detector, fix_out, pred_out = ScriptedDetector([ev]), ListOutlet(), ListOutlet()
    emitted: list[SessionEvent] = []

    def emit(e: SessionEvent) -> None:
        emitted.append(e)
        if isinstance(e, PredictionUpdated):
            predicted.set()

    # a wait of 60 s: only a wake-up by the writer can make the worker see the chunks in time
    live = LivePipeline(protocol, buffer, detector, fix_out, pred_out, model, "P07", emit, wait_s=60.0)
    start_trial(live)
    live.start()
    for t0 in np.arange(ONSET - 0.5, ONSET + 0.5, 0.1):
        b = samples(t0, t0 + 0.1)
        buffer.extend(b.t, b.x, b.y)
    assert predicted.wait(10.0)
    live.stop()  # wakes the worker, which would otherwise wait up to 60 s
    assert live._thread is not None and not live._thread.is_alive()
    assert live.error is None
    t = np.concatenate([b.t for b in detector.fed])
    assert t[0] == pytest.approx(ONSET - 0.5) and np.all(np.diff(t) > 0)
    assert [type(e) for e in emitted] == [FixationMapped, PredictionUpdated]


def test_a_detector_error_stops_the_pipeline_and_is_raised_in_tests(protocol: Protocol) -> None:
    class Broken:
        def feed(self, block: GazeBlock) -> list[GazeEvent]:
            raise RuntimeError("detector broke")

    buffer = GazeRingBuffer(60.0, RATE)
    live = LivePipeline(protocol, buffer, Broken(), ListOutlet(), ListOutlet(), None, "P07", lambda e: None,
                        wait_s=0.01)
    live.start()
    b = samples(0.0, 0.1)
    buffer.extend(b.t, b.x, b.y)
    assert live._thread is not None
    live._thread.join(10.0)
    assert isinstance(live.error, RuntimeError)
    with pytest.raises(RuntimeError, match="detector broke"):
        live.stop()  # the tests' conftest sets POVLAB_RAISE_WORKER_ERRORS=1


def test_wait_s_must_be_positive(protocol: Protocol) -> None:
    with pytest.raises(ValueError, match="wait_s"):
        LivePipeline(protocol, GazeRingBuffer(1.0, RATE), ScriptedDetector([]), ListOutlet(), ListOutlet(), None,
                     "P07", lambda e: None, wait_s=0.0)
