"""Per-trial scanpath and dwell-heatmap figures (app.runfolder.plots)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.core.errors import GazeDataError, RecordingError
from app.core.layout import layout_trial
from app.core.paths import DEMO_PROTOCOL
from app.core.protocol import load_protocol
from app.runfolder.plots import TrialGaze, dwell_map, plot_names, write_trial_plots


def test_dwell_map_peaks_at_the_longest_fixation() -> None:
    m = dwell_map([(105.0, 105.0, 0.2), (505.0, 305.0, 0.6)], (800, 400), sigma_px=30.0, cell_px=10)
    assert m.shape == (40, 80) and m.max() == pytest.approx(1.0)
    iy, ix = np.unravel_index(np.argmax(m), m.shape)
    assert (ix, iy) == (50, 30)  # the cell whose centre is (505, 305)
    assert m[10, 10] == pytest.approx(0.2 / 0.6, rel=1e-6), "weighted by duration"


@pytest.mark.parametrize(("fixations", "sigma", "cell"), [
    pytest.param([(1.0, 1.0, 0.1)], 0.0, 8, id="zero-sigma"),
    pytest.param([(1.0, 1.0, 0.1)], 10.0, 0, id="zero-cell"),
])
def test_dwell_map_refuses_bad_parameters(fixations, sigma, cell) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GazeDataError, match="dwell map"):
        dwell_map(fixations, (100, 100), sigma, cell)


def test_empty_trial_gives_an_empty_map() -> None:
    assert not dwell_map([], (64, 64), 10.0).any()


def test_trial_gaze_refuses_non_finite_fixations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = load_protocol(DEMO_PROTOCOL)
    lay = layout_trial(p, p.all_trials[0])
    with pytest.raises(GazeDataError, match="fixation 1"):
        TrialGaze(1, "x", lay, p.all_trials[0].image, ((1.0, 2.0, 0.2), (float("nan"), 2.0, 0.2)))


def test_plots_are_written_next_to_the_recording_and_never_overwritten(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = load_protocol(DEMO_PROTOCOL)
    trials = []
    for n, t in enumerate(p.all_trials[:2], start=1):
        lay = layout_trial(p, t)
        fix = tuple((a.centre[0], a.centre[1], 0.25) for a in lay.aois[:5])
        trials.append(TrialGaze(n, t.trial_id, lay, t.image, fix))
    pairs = write_trial_plots(tmp_path / "plots", "sub-X_ses-01_task-pov_run-001", trials, p.screen)
    assert [(a.name, b.name) for a, b in pairs] == [plot_names("sub-X_ses-01_task-pov_run-001", t) for t in trials]
    assert pairs[0][0].name == "sub-X_ses-01_task-pov_run-001_trial-01_practice-cat_scanpath.png"
    for scan, heat in pairs:
        a = np.asarray(Image.open(scan).convert("RGB"), dtype=float)
        b = np.asarray(Image.open(heat).convert("RGB"), dtype=float)
        assert a.shape == b.shape and a.std() > 10, "not blank"
        assert np.abs(a - b).mean() > 1, "the heatmap differs from the scanpath"
    with pytest.raises(RecordingError, match="never overwritten"):
        write_trial_plots(tmp_path / "plots", "sub-X_ses-01_task-pov_run-001", trials[:1], p.screen)
