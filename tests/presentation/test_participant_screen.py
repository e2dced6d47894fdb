"""The participant screen under Xvfb: every kind of screen drawn, a short protocol run end to end.

One run (2 trials, 5 validation targets, the simulated participant) is shared by the tests of
this module; frames of each kind of screen are saved by the child process itself.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import PresentationError
from app.core.layout import layout_trial
from app.core.markers import parse_marker
from app.core.presenting import TrialOutcome
from app.core.protocol import Protocol
from app.core.validation import target_positions, validation_runs
from app.presentation.compose import compose_stimulus, hex_rgb
from app.presentation.presenter import FlipRecord, PsychoPyPresenter
from tests.presentation.conftest import SCREEN_H, SCREEN_W, CollectingSink
from tests.presentation.inkcheck import check_words, ink_mask

pytestmark = pytest.mark.xvfb


@dataclass
class Run:
    protocol: Protocol
    markers: list[tuple[float, str]]
    outcomes: list[TrialOutcome]
    flips: list[FlipRecord]
    frames: Path


@pytest.fixture(scope="module")
def run(xvfb_display: str, short_protocol: Protocol, tmp_path_factory: pytest.TempPathFactory) -> Run:
    frames = tmp_path_factory.mktemp("frames")
    presenter = PsychoPyPresenter(windowed=True, simulate_participant=True, display=xvfb_display, sim_seed=7,
                                  sim_rt_median_s=0.5, target_s=0.25, validation_intro_s=0.2, frames_dir=frames)
    sink = CollectingSink()
    seen: list[TrialOutcome] = []
    outcomes = presenter.run(short_protocol, sink, threading.Event(), seen.append)
    assert outcomes == seen
    return Run(short_protocol, sink.items, outcomes, presenter.flips, frames)


def _frame(run: Run, kind: str) -> np.ndarray:
    path = run.frames / f"{kind}.png"
    assert path.is_file(), f"no frame saved for {kind}"
    rgb = np.asarray(Image.open(path).convert("RGB"))
    assert rgb.shape == (SCREEN_H, SCREEN_W, 3)
    return rgb


def test_every_kind_of_screen_is_drawn(run: Run) -> None:
    bg, fg = hex_rgb(run.protocol.display.background), hex_rgb(run.protocol.display.text_color)
    blank = _frame(run, "blank")
    assert not ink_mask(blank, bg, fg).any() and np.all(blank == bg)
    for kind in ("instructions", "validation_intro", "practice_over"):
        assert ink_mask(_frame(run, kind), bg, fg).sum() > 500, kind
    cross = ink_mask(_frame(run, "cross"), bg, fg)
    cy, cx = SCREEN_H // 2, SCREEN_W // 2
    assert cross[cy, cx] and cross[cy, cx + 10] and cross[cy + 10, cx] and not cross[cy + 10, cx + 10]
    assert not cross[:, : cx - 40].any()  # a small cross at the centre, nothing else
    target = ink_mask(_frame(run, "target"), bg, fg)
    x, y = (int(v) for v in target_positions(run.protocol.screen, 5)[0])  # the first target: centre
    ys, xs = np.nonzero(target)
    assert abs(xs.mean() - x) < 1.5 and abs(ys.mean() - y) < 1.5
    assert not target[y, x]  # the bullseye's hole


def test_caption_ink_lies_in_the_word_boxes(run: Run) -> None:
    p = run.protocol
    trial = p.all_trials[0]  # the stimulus frame saved is the first trial's
    layout = layout_trial(p, trial)
    rgb = _frame(run, "stimulus")
    n_ink, outside, empty = check_words(rgb, layout, hex_rgb(p.display.background), hex_rgb(p.display.text_color),
                                        caption_bottom=p.style.image_top_px)
    assert n_ink > 300
    assert outside == 0, f"{outside} caption ink pixels outside every word box"
    assert empty == []
    # the picture is shown pixel for pixel where the layout puts it
    expected = np.asarray(compose_stimulus(p, trial, layout)).astype(int)
    x0, y0, x1, y1 = (round(v) for v in layout.image_rect)
    diff = np.abs(rgb[y0:y1, x0:x1].astype(int) - expected[y0:y1, x0:x1])
    assert diff.mean() < 2.0


def test_markers_vocabulary_and_order(run: Run) -> None:
    kinds = [parse_marker(m).kind for _, m in run.markers]
    assert kinds[:6] == ["VALIDATION_TARGET"] * 5 + ["VALIDATION_END"]
    per_trial = []
    for k in kinds[6:]:
        if k == "TRIALID":
            per_trial.append([])
        per_trial[-1].append(k)
    assert len(per_trial) == 2
    for trial, ks in zip(run.protocol.all_trials, per_trial, strict=True):
        n_aoi = len(layout_trial(run.protocol, trial).aois)
        assert ks.count("IAREA") == n_aoi
        assert ks.count("IMGLOAD") == 1
        core = [k for k in ks if k not in ("TRIAL_VAR", "IAREA", "IMGLOAD")]
        assert core == ["TRIALID", "FIXCROSS_ONSET", "STIM_ONSET", "STIM_OFFSET", "TRIAL_RESULT"]
    times = [t for t, _ in run.markers]
    assert times == sorted(times)
    ids = [parse_marker(m).args[0] for _, m in run.markers if m.startswith("TRIALID")]
    assert ids == ["1", "2"]
    targets = validation_runs(run.markers)
    assert len(targets) == 1 and [(t.x, t.y) for t in targets[0]] == [
        (round(x, 1), round(y, 1)) for x, y in target_positions(run.protocol.screen, 5)]


def test_responses_and_reaction_times_match_the_markers(run: Run) -> None:
    assert [o.trial_id for o in run.outcomes] == ["p-cat", "t-coffee"]
    assert [o.practice for o in run.outcomes] == [True, False]
    stamp = {}
    answers, rts = [], []
    for t, m in run.markers:
        pm = parse_marker(m)
        if pm.kind in ("STIM_ONSET", "STIM_OFFSET"):
            stamp.setdefault(pm.kind, []).append(t)
        elif pm.kind == "TRIAL_VAR" and pm.args[0] == "response":
            answers.append(pm.args[1])
        elif pm.kind == "TRIAL_VAR" and pm.args[0] == "rt_ms":
            rts.append(float(pm.args[1]))
    assert answers == [o.response for o in run.outcomes]
    assert all(a in ("yes", "no", "unclear") for a in answers)  # median 0.5 s, limit 2 s
    assert rts == pytest.approx([o.rt_s * 1000 for o in run.outcomes], abs=0.051)
    for o, on, off in zip(run.outcomes, stamp["STIM_ONSET"], stamp["STIM_OFFSET"], strict=True):
        assert (o.stim_onset, o.stim_offset) == (on, off)
        assert o.rt_s is not None and 0 < o.rt_s <= off - on  # the answer ends the stimulus


def test_time_stamps_are_flip_times_on_the_lsl_clock(run: Run) -> None:
    assert {f.kind for f in run.flips} >= {"target", "cross", "stimulus", "blank"}
    for f in run.flips:
        # stamped at the flip, before flip() returned and long before the parent pushed it
        assert f.timestamp <= f.lsl_after_flip <= f.pushed_at
        # on the LSL clock, not PsychoPy's (which starts near 0 when PsychoPy is imported)
        assert f.lsl_after_flip - f.timestamp < 0.05


def test_operator_stop_aborts_after_the_current_trial(xvfb_display: str, short_protocol: Protocol) -> None:
    stop = threading.Event()
    # a long inter-trial interval, so the stop set after trial 1 arrives before trial 2 could begin
    protocol = dataclasses.replace(short_protocol, timing=dataclasses.replace(short_protocol.timing, inter_trial_s=1.5))
    presenter = PsychoPyPresenter(windowed=True, simulate_participant=True, display=xvfb_display, sim_seed=1,
                                  sim_rt_median_s=0.3, validation=False)
    sink = CollectingSink()
    outcomes = presenter.run(protocol, sink, stop, lambda o: stop.set())
    assert len(outcomes) == 1
    assert sink.items[-1][1] == "ABORT"
    assert not any(m.startswith("TRIALID 2") for _, m in sink.items)


def test_validation_is_repeatable_and_the_pause_button_pauses_between_trials(
        xvfb_display: str, short_protocol: Protocol) -> None:
    protocol = dataclasses.replace(short_protocol, timing=dataclasses.replace(short_protocol.timing, inter_trial_s=1.0))
    presenter = PsychoPyPresenter(windowed=True, simulate_participant=True, display=xvfb_display, sim_seed=2,
                                  sim_rt_median_s=0.3, target_s=0.1, validation_intro_s=0.0, validation=False)

    class ResumingSink(CollectingSink):
        def push(self, marker: str, timestamp: float) -> None:
            super().push(marker, timestamp)
            if marker == "PAUSE":
                presenter.toggle_pause()  # the operator presses the button again: resume

    sink = ResumingSink()
    stop = threading.Event()
    assert presenter.validate(protocol, sink, stop)
    assert presenter.validate(protocol, sink, stop)  # again, in the same window
    assert presenter.ready is not None and presenter.ready.width_px == SCREEN_W
    assert presenter.ready.refresh_hz is None or presenter.ready.refresh_hz > 10
    outcomes = presenter.run(protocol, sink, stop, lambda o: presenter.toggle_pause() if o.number == 1 else None)
    assert len(outcomes) == 2
    assert len(validation_runs(sink.items)) == 2
    kinds = [parse_marker(m).kind for _, m in sink.items]
    assert kinds.count("PAUSE") == 1 and kinds.count("RESUME") == 1
    first_result = kinds.index("TRIAL_RESULT")
    assert kinds.index("PAUSE") == first_result + 1 and kinds.index("RESUME") == first_result + 2
    assert kinds[first_result + 3] == "TRIALID"


def test_a_crash_of_the_participant_screen_is_one_clear_error(xvfb_display: str, short_protocol: Protocol) -> None:
    presenter = PsychoPyPresenter(windowed=True, simulate_participant=True, display=xvfb_display, sim_seed=1,
                                  sim_rt_median_s=0.3, validation=False)
    sink = CollectingSink()
    done: list[TrialOutcome] = []

    def kill_child(outcome: TrialOutcome) -> None:
        done.append(outcome)
        os.kill(presenter._proc.pid, signal.SIGKILL)

    with pytest.raises(PresentationError, match="stopped unexpectedly") as exc:
        presenter.run(short_protocol, sink, threading.Event(), kill_child)
    assert "\n" not in str(exc.value) and "killed by signal 9" in str(exc.value)
    assert len(done) == 1 and sink.items[-1][1] == "ABORT"  # what was shown is kept, the end is marked
    assert presenter._proc is None
