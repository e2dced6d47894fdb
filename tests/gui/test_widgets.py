"""pytest-qt (offscreen): change the model, assert what the run page's widgets show."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from app.gui.images import ImageStore
from app.gui.live_model import LiveModel
from app.gui.pages.run_page import RunPage
from app.gui.widgets.stimulus_view import StimulusView
from app.session.updates import PersonalisationUpdated, ScreenShown, SessionWarning, ValidationMeasured
from tests.gui.conftest import finished, mapped, prediction, started, trial_started


@pytest.fixture
def page(qtbot, demo, layouts):  # type: ignore[no-untyped-def]
    model = LiveModel(demo.screen)
    p = RunPage(model, ImageStore())
    qtbot.addWidget(p)
    p.resize(1200, 700)
    model.apply(started(demo))
    model.apply(trial_started(demo, layouts, 1))
    return p


def test_prediction_bars_follow_the_model(page) -> None:  # type: ignore[no-untyped-def]
    bars = page.panel.bars
    assert bars["yes"].format() == "–", "no prediction yet"
    page.model.apply(prediction(1, "practice-cat", (0.7, 0.2, 0.1)))
    assert [bars[k].value() for k in ("yes", "no", "unclear")] == [700, 200, 100]
    assert bars["yes"].format() == "70%"
    page.model.apply(prediction(1, "practice-cat", (0.25, 0.5, 0.25), 2))
    assert bars["no"].value() == 500 and page.panel.chart.history[-1] == (0.25, 0.5, 0.25)
    assert page.panel.trial_label.text() == "trial 1: practice-cat (practice)"


def test_answer_and_running_agreement(page, demo, layouts) -> None:  # type: ignore[no-untyped-def]
    assert page.panel.answer_label.text() == "answer: waiting"
    page.model.apply(finished(1, "practice-cat", "yes", "yes", None, practice=True))
    assert page.panel.answer_label.text() == "answer: yes (model: yes)"
    page.model.apply(trial_started(demo, layouts, 3))
    page.model.apply(finished(3, demo.all_trials[2].trial_id, "no", "yes", 0.0))
    assert page.panel.agreement_label.text() == "agreement: 0%"
    table = page.panel.table
    assert table.rowCount() == 2 and table.item(1, 3).text() == "✗" and table.item(0, 3).text() == "✓"


def test_personalisation_after_each_answer_is_shown(page) -> None:  # type: ignore[no-untyped-def]
    label = page.panel.personal_label
    assert label.text() == "personalised: not yet (no answered trial)"
    page.model.apply(PersonalisationUpdated("P01", 1, (0.31, -0.2, -0.11)))
    assert label.text() == "personalised from 1 answered trial: yes +0.31, no -0.20, unclear -0.11"
    page.model.apply(PersonalisationUpdated("P01", 4, (-0.5, 0.75, -0.25)))
    assert label.text() == "personalised from 4 answered trials: yes -0.50, no +0.75, unclear -0.25"


def test_trial_progress(page, demo, layouts) -> None:  # type: ignore[no-untyped-def]
    n = len(demo.all_trials)
    assert page.quality.progress.format() == f"trial 1 / {n} (0 done)"
    page.model.apply(finished(1, "practice-cat", "yes", None, None, practice=True))
    page.model.apply(trial_started(demo, layouts, 2))
    assert page.quality.progress.format() == f"trial 2 / {n} (1 done)"
    assert page.quality.progress.value() == 1 and page.quality.progress.maximum() == n
    assert "SimTracker" in page.quality.tracker_label.text()


def test_banners_show_and_dismiss(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert not page.banners.isVisibleTo(page)
    page.model.apply(SessionWarning("stream_lost", "tracker stream lost at 12.000 s"))
    page.model.apply(SessionWarning("disk_low", "low disk space: 100 MiB left"))
    assert page.banners.isVisibleTo(page)
    assert page.banners.banners["stream_lost"].text() == "tracker stream lost at 12.000 s"
    assert list(page.banners.banners) == ["stream_lost", "disk_low"]
    page.model.apply(SessionWarning("stream_back", "tracker stream back after a gap of 1.2 s"))
    assert set(page.banners.banners) == {"stream_back", "disk_low"}
    page.model.dismiss("stream_back")
    page.model.dismiss("disk_low")
    assert page.banners.banners == {} and not page.banners.isVisibleTo(page)


def test_dropped_samples_banner_and_quality_labels(page) -> None:  # type: ignore[no-untyped-def]
    page.model.nominal_rate_hz = 2000.0
    page.model.set_quality(1998.4, 19980, 20)
    assert page.quality.rate_label.text() == "rate: 1998 of 2000 Hz"
    assert page.quality.loss_label.text() == "loss: 0.10% (20)"
    assert "20 gaze samples dropped" in page.banners.banners["samples_lost"].text()


def test_aoi_under_gaze_is_highlighted(page, layouts) -> None:  # type: ignore[no-untyped-def]
    aois = layouts[0].aois
    k = len(aois) - 1  # an image object
    page.model.set_gaze(1.0, *aois[k].centre)
    assert page.view.highlight == k and page.view.gaze == aois[k].centre
    assert page.aoi_label.text() == f"AOI under gaze: {aois[k].name} (object)"
    page.model.set_gaze(2.0, 5.0, 1075.0)
    assert page.view.highlight == -1 and page.aoi_label.text() == "AOI under gaze: –"


def test_fixation_trail_follows_the_trial(page, demo, layouts) -> None:  # type: ignore[no-untyped-def]
    page.model.apply(mapped(1, 300.0, 400.0, 2))
    page.model.apply(mapped(1, 500.0, 450.0, -1))
    assert [(x, y) for x, y, _, _ in page.view.trail] == [(300.0, 400.0), (500.0, 450.0)]
    page.model.apply(trial_started(demo, layouts, 2))
    assert page.view.trail == [] and page.view.layout_ is layouts[1]


def _render(view: StimulusView) -> QImage:
    img = QImage(view.size(), QImage.Format.Format_ARGB32)
    img.fill(QColor("black"))
    view.render(img)
    return img


def test_stimulus_view_draws_the_gaze_point_and_the_highlight(qtbot, layouts) -> None:  # type: ignore[no-untyped-def]
    view = StimulusView()
    qtbot.addWidget(view)
    view.resize(960, 540)  # half the 1920x1080 screen: widget px = screen px / 2
    lay = layouts[0]
    view.set_trial(lay, None, "t")
    obj = len(lay.aois) - 1
    cx, cy = lay.aois[obj].centre
    before = _render(view).pixelColor(int(cx / 2) + 20, int(cy / 2)).name()
    view.set_gaze((cx, cy), obj)
    img = _render(view)
    assert view.drawn_gaze == (cx, cy)
    centre = img.pixelColor(int(cx / 2), int(cy / 2))
    assert centre.red() > 200 and centre.green() < 80, "red gaze point at the gaze position"
    assert img.pixelColor(int(cx / 2) + 20, int(cy / 2)).name() != before, "the AOI under gaze is filled"
    pixels = np.array([[img.pixelColor(x, y).rgb() for x in range(0, 960, 24)] for y in range(0, 540, 24)])
    assert len(np.unique(pixels)) > 4, "the view is not blank"


def test_validation_result_is_shown(page) -> None:  # type: ignore[no-untyped-def]
    assert page.quality.validation_label.text() == "validation: not run"
    line = "validation GOOD: mean 0.31 deg, max 0.62 deg, RMS-S2S 0.020 deg (all targets under 1 deg)"
    page.model.apply(ValidationMeasured({"mean_deg": 0.31}, line))
    assert page.quality.validation_label.text() == "validation: GOOD: mean 0.31 deg, max 0.62 deg, RMS-S2S 0.020 deg"
    assert page.quality.validation_label.toolTip().endswith("(all targets under 1 deg)")
    assert dict(page.model.summary_rows())["validation"].startswith("GOOD: mean 0.31 deg")


def test_operator_sees_what_the_participant_sees(page, layouts) -> None:  # type: ignore[no-untyped-def]
    """Fixation cross, stimulus, blank and validation targets follow the session's ScreenShown events."""
    view = page.view
    lay = layouts[0]
    sw, sh = lay.screen_px

    def at(x: float, y: float) -> tuple[int, int]:
        pt = view.to_widget(x, y)
        return int(pt.x()), int(pt.y())

    def light(img: QImage, x: float, y: float) -> bool:
        return img.pixelColor(*at(x, y)).lightness() > 200

    def word_ink() -> int:  # light caption pixels inside the first word's box
        img = _render(view)
        x0, y0, x1, y1 = lay.words[0].box
        return sum(light(img, x, y) for x in np.linspace(x0, x1, 12) for y in np.linspace(y0, y1, 12))

    page.model.apply(ScreenShown(1, "fixation_cross"))
    assert view.screen == "fixation_cross"
    img = _render(view)
    assert light(img, sw / 2, sh / 2) and light(img, sw / 2 + 12, sh / 2), "the fixation cross"
    assert word_ink() == 0, "no caption under the fixation cross"
    page.model.apply(ScreenShown(1, "stimulus"))
    assert word_ink() > 3, "the caption is drawn with the stimulus"
    page.model.apply(ScreenShown(0, "validation_target", (100.0, 200.0)))
    img = _render(view)
    assert light(img, 100 + 10, 200) and not light(img, sw / 2 + 12, sh / 2), "the target, not the cross"
    page.model.apply(ScreenShown(1, "blank"))
    img = _render(view)
    assert not light(img, 100 + 10, 200) and word_ink() == 0, "nothing on a blank screen"


def test_gaze_quality_and_tracker_warnings_are_banners(page) -> None:  # type: ignore[no-untyped-def]
    page.model.apply(SessionWarning("disk_low", "low disk space: 100 MiB left"))
    page.model.apply(SessionWarning("off_screen", "gaze far outside the 1920x1080 px screen"))
    page.model.apply(SessionWarning("no_gaze", "no valid gaze for 3 s: every sample is NaN"))
    page.model.apply(SessionWarning("bad_timestamps", "tracker time stamps are broken: 2 NaN/infinite"))
    page.model.apply(SessionWarning("stream_changed", "tracker EyeLink came back (source_id a -> b)"))
    assert page.banners.isVisibleTo(page)
    assert set(page.banners.banners) == {"no_gaze", "bad_timestamps", "off_screen", "stream_changed", "disk_low"}
    assert page.banners.banners["no_gaze"].text() == "no valid gaze for 3 s: every sample is NaN"
