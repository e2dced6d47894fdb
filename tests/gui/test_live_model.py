"""The window's model: session events and gaze polls in, what the widgets show out (no Qt)."""

from __future__ import annotations

import pytest

from app.core.run_metadata import CountersRecord, RunMetadata, SessionStatus
from app.gui.live_model import LiveModel
from app.session.updates import SessionEnded, SessionWarning
from tests.gui.conftest import finished, mapped, prediction, started, trial_started


@pytest.fixture
def model(demo) -> LiveModel:  # type: ignore[no-untyped-def]
    return LiveModel(demo.screen, trail_length=3)


def test_events_build_the_trial_view(model, demo, layouts) -> None:  # type: ignore[no-untyped-def]
    topics: list[str] = []
    model.subscribe(topics.append)
    model.apply(started(demo))
    model.apply(trial_started(demo, layouts, 1))
    for k in range(5):
        model.apply(mapped(1, 100.0 + k, 200.0, k))
    model.apply(prediction(1, "practice-cat", (0.7, 0.2, 0.1)))
    model.apply(prediction(1, "practice-cat", (0.6, 0.3, 0.1), 2))
    model.apply(finished(1, "practice-cat", "yes", "yes", None, practice=True))
    t = model.trial
    assert t is not None and t.number == 1 and t.practice
    assert model.n_trials == len(demo.all_trials) and model.tracker == "SimTracker"
    assert [f[0] for f in model.trail()] == [102.0, 103.0, 104.0], "the trail keeps the newest fixations"
    assert t.probs == (0.6, 0.3, 0.1) and len(t.probs_history) == 2
    assert t.answer == "yes" and t.agrees is True and model.done == 1
    assert topics == ["session", "trial"] + ["fixation"] * 5 + ["prediction"] * 2 + ["answer"]


def test_events_of_an_unknown_trial_are_ignored(model, demo) -> None:  # type: ignore[no-untyped-def]
    model.apply(started(demo))
    model.apply(mapped(3, 1.0, 2.0, -1))
    model.apply(prediction(3, "x", (0.1, 0.1, 0.8)))
    assert model.trials == {} and model.trial is None


@pytest.mark.parametrize(("warnings", "shown"), [
    pytest.param([("stream_lost", "lost")], {"stream_lost"}, id="lost"),
    pytest.param([("stream_lost", "lost"), ("stream_back", "back")], {"stream_back"}, id="back-replaces-lost"),
    pytest.param([("stream_back", "back"), ("stream_lost", "lost")], {"stream_lost"}, id="lost-again"),
    pytest.param([("disk_low", "low"), ("stream_lost", "lost")], {"disk_low", "stream_lost"}, id="two-kinds"),
])
def test_warnings_become_banners(model, warnings, shown) -> None:  # type: ignore[no-untyped-def]
    for kind, message in warnings:
        model.apply(SessionWarning(kind, message))
    assert set(model.banners) == shown


def test_dropped_samples_raise_a_banner_only_when_the_count_grows(model) -> None:  # type: ignore[no-untyped-def]
    model.set_quality(1000.0, 5000, 0)
    assert "samples_lost" not in model.banners and model.loss_fraction == 0.0
    model.set_quality(1000.0, 9990, 10)
    assert "10 gaze samples dropped" in model.banners["samples_lost"] and model.loss_fraction == pytest.approx(0.001)
    model.dismiss("samples_lost")
    model.set_quality(1000.0, 12000, 10)
    assert "samples_lost" not in model.banners, "no new loss: a dismissed banner stays away"


def test_gaze_on_an_aoi_selects_it(model, demo, layouts) -> None:  # type: ignore[no-untyped-def]
    model.apply(trial_started(demo, layouts, 1))
    aois = layouts[0].aois
    for i in (0, len(aois) - 1):
        model.set_gaze(5.0, *aois[i].centre)
        assert model.gaze_aoi == i
    model.set_gaze(6.0, 2.0, 1070.0)
    assert model.gaze_aoi == -1 and model.gaze == (6.0, 2.0, 1070.0)


def test_summary_counts_trials_quality_and_agreement(model, demo, layouts) -> None:  # type: ignore[no-untyped-def]
    model.apply(started(demo))
    for n, answer, predicted in ((1, "yes", "yes"), (3, "no", "yes"), (4, "no", "no")):
        model.apply(trial_started(demo, layouts, n))
        model.apply(finished(n, demo.all_trials[n - 1].trial_id, answer, predicted, 0.5,
                             practice=demo.all_trials[n - 1].practice))
    done = SessionStatus.COMPLETE
    model.apply(SessionEnded(model.folder, done, RunMetadata(
        "T", "01", "pov", 1, status=done, n_trials_done=3, agreement=0.5, n_fixations=7,
        counters=CountersRecord(received=990, lost=10, invalid=0))))
    rows = dict(model.summary_rows())
    assert rows["status"] == "complete"
    assert rows["trials"].startswith(f"3 of {len(demo.all_trials)}")
    assert rows["gaze samples"] == "990 received, 10 lost (1.00%)"
    assert rows["model agreement"] == "50% (1 of 2)"
    assert rows["fixations"] == "7"
