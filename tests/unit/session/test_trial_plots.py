"""The plots a session leaves: collected from its own events, written once the recording is closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.gaze_events import GazeEvent
from app.core.layout import layout_trial
from app.core.paths import DEMO_PROTOCOL
from app.core.protocol import Protocol, load_protocol
from app.session.trial_plots import TrialPlotter
from app.session.updates import FixationMapped, TrialStarted


@pytest.fixture(scope="module")
def demo() -> Protocol:
    return load_protocol(DEMO_PROTOCOL)


def _fixation(x: float, y: float, onset: float) -> GazeEvent:
    return GazeEvent("fixation", onset, onset + 0.2, 0.2, x, y, float("nan"), float("nan"))


def _plotter(demo: Protocol) -> TrialPlotter:
    plotter = TrialPlotter()
    for n in (1, 2):
        t = demo.all_trials[n - 1]
        plotter.observe(TrialStarted(n, t.trial_id, t.practice, layout_trial(demo, t), t.image))
        for k in range(3):
            plotter.observe(FixationMapped(n, _fixation(500.0 + 100 * k, 400.0, 1.0 + k), 0))
    plotter.observe(FixationMapped(0, _fixation(10.0, 10.0, 9.0), -1))  # between trials: in no plot
    return plotter


def test_each_shown_trial_gets_a_scanpath_and_a_heatmap(demo: Protocol, tmp_path: Path) -> None:
    plots, note = _plotter(demo).write(tmp_path / "plots", "sub-T_ses-01_task-pov_run-001", demo.screen,
                                       demo.display.background)
    assert note == f"plots in {tmp_path / 'plots'}"
    assert [(p.number, p.trial_id) for p in plots] == [(n, demo.all_trials[n - 1].trial_id) for n in (1, 2)]
    for p in plots:
        assert p.scanpath.read_bytes()[:4] == b"\x89PNG" and p.heatmap.read_bytes()[:4] == b"\x89PNG"
        assert p.label == f"{p.number} {p.trial_id}"


def test_no_trial_no_plots(demo: Protocol, tmp_path: Path) -> None:
    plots, note = TrialPlotter().write(tmp_path / "plots", "stem", demo.screen, "#7f7f7f")
    assert plots == () and "no trial" in note and not (tmp_path / "plots").exists()


def test_a_plot_that_cannot_be_written_is_a_note_not_an_error(demo: Protocol, tmp_path: Path) -> None:
    blocker = tmp_path / "plots"
    blocker.write_text("a file where the folder should be")
    plots, note = _plotter(demo).write(blocker, "stem", demo.screen, "#7f7f7f")
    assert plots == () and note.startswith("plots not written:") and str(blocker) in note
