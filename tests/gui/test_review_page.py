"""The review page plays a recorded run: screen at the playhead, scanpath so far, scrubbing, play at 1x-8x."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.gui.backend import Backend
from app.gui.main_window import MainWindow
from app.runfolder.review import load_review
from app.runfolder.synthetic import make_session


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return make_session(tmp_path / "data", participant="01", session="01", duration_s=25.0)


@pytest.fixture
def window(qtbot, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    backend = Backend(lambda c, listener: None, lambda timeout: [], None,  # type: ignore[arg-type,return-value]
                      load_review=load_review)
    w = MainWindow(backend, [], tmp_path / "out", None, frame_ms=10)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_scrubbing_shows_the_screen_and_scanpath_at_the_playhead(window: MainWindow, session: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert window.review(session) == ""
    page = window.review_page
    assert window.stack.currentWidget() is page
    review = page.playback.review  # type: ignore[union-attr]
    second = review.trials[1]
    t = second.record.stim_onset + 2.5
    # a click on the timeline at t's position seeks there (within one pixel's worth of time)
    x = round(page.timeline.x_of(t))
    QTest.mouseClick(page.timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(x, page.timeline.height() // 2))
    pb = page.playback
    assert pb is not None and abs(pb.t - t) <= review.duration / page.timeline.width() * 1.5
    view = page.view
    assert view.layout_ is second.layout and view.screen == "stimulus" and view.image is not None
    assert len(view.trail) == len(review.scanpath(pb.t)) > 0
    assert view.raw and view.gaze == review.gaze_at(pb.t)
    assert f"trial {second.record.number} {second.record.trial_id}" in page.trial_info.text()
    assert page.trial_info.text().endswith("(stimulus)")
    # before the first trial: nothing on screen, no trial
    page.seek(review.start)
    assert view.layout_ is None and page.trial_info.text() == "no trial"
    # the slider seeks too
    page.slider.setValue(page.slider.maximum())
    page.slider.sliderMoved.emit(page.slider.maximum())
    assert pb.t == review.end


def test_play_pause_and_speed(window: MainWindow, session: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert window.review(session) == ""
    page = window.review_page
    pb = page.playback
    assert pb is not None
    page.speed.setCurrentIndex(page.speed.findText("8x"))
    assert pb.speed == 8.0
    start = pb.t
    qtbot.mouseClick(page.play_button, Qt.MouseButton.LeftButton)
    assert pb.playing and page.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: pb.t > start + 1.0, timeout=5000)
    qtbot.mouseClick(page.play_button, Qt.MouseButton.LeftButton)
    assert not pb.playing
    paused = pb.t
    qtbot.wait(100)
    assert pb.t == paused
    pb.seek(pb.review.end - 0.01)
    pb.playing = True
    pb.advance(1.0)
    assert pb.t == pb.review.end and not pb.playing  # playback stops at the end
    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.setup_page


def test_a_recording_that_cannot_be_read_is_refused_with_its_reason(window: MainWindow, tmp_path: Path) -> None:
    problem = window.review(tmp_path / "nothing.xdf")
    assert "not found" in problem and window.stack.currentWidget() is window.setup_page
