"""The whole pipeline with the participant screen: simulated tracker -> LSL -> XDF, simulated participant.

Uses the session runner (``app.session.runner.Session``) with :class:`PsychoPyPresenter` instead of
the headless presenter, then reads the XDF back: markers with flip time stamps, responses, and
the validation figures computed from the recorded gaze.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.core.gaze import GazeBlock
from app.core.markers import parse_marker
from app.core.validation import POOR, compute_validation, validation_runs
from app.presentation.presenter import PsychoPyPresenter

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]  # ~30 s: a whole session with its recording

runner = pytest.importorskip("app.session.runner", reason="the session runner (app/session) is not there yet")
pyxdf = pytest.importorskip("pyxdf")


def test_session_with_the_participant_screen_records_flip_stamped_markers(
        xvfb_display, short_protocol, tmp_path) -> None:  # type: ignore[no-untyped-def]
    presenter = PsychoPyPresenter(windowed=True, simulate_participant=True, display=xvfb_display, sim_seed=4,
                                  sim_rt_median_s=0.6, target_s=0.8, validation_intro_s=0.2)
    from app.acquisition.tracker_spec import LslTrackerConnector, TrackerSpec

    cfg = runner.SessionConfig(short_protocol.path, "P01", out=tmp_path / "out", model=None)
    result = runner.Session(cfg, presenter, tracker=LslTrackerConnector(TrackerSpec("sim"), sim_rate_hz=250.0,
                                                                         seed=4)).run()
    assert result.status == "complete"
    assert [(o.trial_id, o.practice) for o in result.outcomes] == [("p-cat", True), ("t-coffee", False)]

    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(result.files.xdf))[0]}
    mk = streams["PovLab-Markers"]
    pairs = [(float(t), str(m[0])) for t, m in zip(mk["time_stamps"], mk["time_series"], strict=True)]
    kinds = [parse_marker(m).kind for _, m in pairs]
    assert kinds[0] == "SESSION_START" and kinds[-1] == "SESSION_END"
    assert kinds[1] == "DISPLAY_COORDS"  # the session's screen, before anything is shown
    assert kinds[2:8] == ["VALIDATION_TARGET"] * 5 + ["VALIDATION_END"]
    assert kinds.count("TRIALID") == 2 and kinds.count("TRIAL_RESULT") == 2
    assert np.all(np.diff([t for t, _ in pairs]) >= 0)

    # the recorded stamps are the presenter's flip stamps, and the responses are the outcomes
    onsets = [t for t, m in pairs if m == "STIM_ONSET"]
    offsets = [t for t, m in pairs if m == "STIM_OFFSET"]
    assert onsets == pytest.approx([o.stim_onset for o in result.outcomes], abs=1e-3)
    assert offsets == pytest.approx([o.stim_offset for o in result.outcomes], abs=1e-3)
    answers = [parse_marker(m).args[1] for _, m in pairs if m.startswith("!V TRIAL_VAR response")]
    assert answers == [o.response for o in result.outcomes]

    # validation figures from the recorded gaze (the simulated tracker looks at each target)
    gz = streams["PovLab-SimTracker"]
    data = np.asarray(gz["time_series"], dtype=float)
    block = GazeBlock.from_arrays(gz["time_stamps"], (data[:, 0] + data[:, 2]) / 2, (data[:, 1] + data[:, 3]) / 2)
    targets = validation_runs(pairs)[-1]
    res = compute_validation(targets, block, short_protocol.screen)
    assert all(t.measured for t in res.targets), res.summary()
    assert res.judgement != POOR, res.summary()

    # the session measured the same figures live and recorded them with the session
    import json

    meta = json.loads(result.files.session_json.read_text())
    assert meta["validation"] is not None, "validation figures missing from session.json"
    assert meta["validation"]["judgement"] == res.judgement
    assert meta["validation"]["mean_deg"] == pytest.approx(res.mean_deg, abs=0.05)
