"""The whole window with a fake backend: set-up page, a scripted session, end page, export."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core.errors import PovLabError, TrackerError
from app.core.gaze import GazeRingBuffer
from app.core.paths import DEMO_PROTOCOL
from app.core.run_metadata import CountersRecord, RunMetadata, SessionStatus
from app.gui.backend import Backend, SetupChoice, TrackerChoice
from app.gui.main_window import MainWindow
from app.session.trial_plots import TrialPlotter
from app.session.updates import SessionEnded, SessionWarning
from tests.gui.conftest import finished, mapped, prediction, started, trial_started


class _Counters:
    received, lost, stalled = 0, 0, False


class _Source:
    def __init__(self) -> None:
        self.buffer = GazeRingBuffer(5.0, 1000.0)
        self.counters = _Counters()
        self.rate_hz = 1000.0


class ScriptedSession:
    """Emits a two-trial session from its own thread, as the real Session does."""

    def __init__(self, demo, layouts, folder: Path, listener, hold: threading.Event | None = None) -> None:  # type: ignore[no-untyped-def]
        self.demo, self.layouts, self.folder, self.listener = demo, layouts, folder, listener
        self.source = _Source()
        self.stop = threading.Event()
        self.hold = hold
        self.closed = False

    def gaze_source(self) -> _Source:
        return self.source

    can_pause = True
    pauses = 0

    def toggle_pause(self) -> None:
        self.pauses += 1

    def request_stop(self) -> None:
        self.stop.set()

    def close(self) -> None:
        self.closed = True

    def run(self) -> None:
        plotter = TrialPlotter()  # as the real Session: it writes the plots, the window lists them

        def emit(event: object) -> None:
            plotter.observe(event)  # type: ignore[arg-type]
            self.listener(event)

        demo, lay = self.demo, self.layouts
        emit(started(demo, self.folder))
        for n in (1, 2):
            t = demo.all_trials[n - 1]
            emit(trial_started(demo, lay, n))
            for k, aoi in enumerate(lay[n - 1].aois[:4]):
                emit(mapped(n, *aoi.centre, k, duration=0.2 + 0.05 * k))
                emit(prediction(n, t.trial_id, (0.5 + 0.1 * k, 0.3 - 0.05 * k, 0.2 - 0.05 * k), k + 1))
            tt = np.arange(200) / 1000.0 + n
            self.source.buffer.extend(tt, np.full(200, 960.0), np.full(200, 540.0))
            self.source.counters.received += 200
            emit(finished(n, t.trial_id, t.expected or "yes", "yes", None, practice=t.practice))
        emit(SessionWarning("disk_low", "low disk space: 400 MiB left"))
        if self.hold is not None:
            self.stop.wait(10.0)
        status = SessionStatus.ABORTED if self.stop.is_set() else SessionStatus.COMPLETE
        plots, note = plotter.write(self.folder / "plots", "sub-T_ses-01_task-pov_run-001", demo.screen,
                                    demo.display.background)
        emit(SessionEnded(self.folder, status, RunMetadata(
            "T", "01", "pov", 1, status=status, n_trials_done=2, agreement=None, n_fixations=8,
            counters=CountersRecord(received=400, lost=0, invalid=0)), plots, note))


@pytest.fixture
def make_window(qtbot, demo, layouts, tmp_path):  # type: ignore[no-untyped-def]
    made: dict[str, object] = {}

    def make(export=True, hold=None, fail=None, run_error=None):  # type: ignore[no-untyped-def]
        def start_session(choice: SetupChoice, listener):  # type: ignore[no-untyped-def]
            if fail is not None:
                raise fail
            s = ScriptedSession(demo, layouts, tmp_path / "out" / "sub-T" / "ses-01", listener, hold)
            if run_error is not None:
                def broken() -> None:
                    listener(started(demo, s.folder))
                    raise run_error
                s.run = broken  # type: ignore[method-assign]
            made["session"], made["choice"] = s, choice
            return s

        def export_session(folder: Path, progress):  # type: ignore[no-untyped-def]
            progress(0.5, "half way")
            made["exported"] = folder
            return f"done: {folder}"

        def list_trackers(timeout: float) -> list[TrackerChoice]:
            return [TrackerChoice("Simulated tracker", "sim", 1000.0, 6, True, "sim"),
                    TrackerChoice("Tobii on lab-pc", "lsl-id:tobii-1", 600.0, 6, True, "both eyes")]

        backend = Backend(start_session, list_trackers, export_session if export else None)
        w = MainWindow(backend, [DEMO_PROTOCOL], tmp_path / "out", None, frame_ms=10)
        qtbot.addWidget(w)
        made["window"] = w
        return w
    return make, made


def test_setup_page_previews_the_protocol_and_lists_trackers(make_window, demo, qtbot) -> None:  # type: ignore[no-untyped-def]
    make, _ = make_window
    w = make()
    page = w.setup_page
    assert page.preview.rowCount() == len(demo.all_trials)
    assert page.preview.item(0, 1).text() == demo.all_trials[0].trial_id
    page.refresh.click()
    qtbot.waitUntil(lambda: page.tracker.count() == 2, timeout=5000)
    page.tracker.setCurrentIndex(1)
    assert "600 Hz" in page.tracker.currentText() and page.tracker_note.text() == "ok: both eyes"
    page.participant.setText("P01")
    assert page.choice().tracker == "lsl-id:tobii-1" and page.choice().participant == "P01"


def test_a_bad_protocol_tracker_or_label_is_one_clear_line(make_window, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    make, _ = make_window
    w = make()
    w.setup_page.protocol.setEditText(str(tmp_path / "missing.toml"))
    assert "protocol file not found" in w.setup_page.error.text() and w.setup_page.preview.rowCount() == 0
    w.setup_page.protocol.setEditText(str(DEMO_PROTOCOL))
    w.setup_page.show_trackers([])
    w.setup_page.participant.setText("P01")
    w.setup_page.start.click()
    assert "no tracker chosen" in w.setup_page.error.text() and w.controller.page == "setup"
    w.setup_page.refresh.click()
    qtbot.waitUntil(lambda: w.setup_page.tracker.count() == 2, timeout=5000)
    w.setup_page.participant.setText("P 01!")
    w.setup_page.start.click()
    assert "participant label 'P 01!'" in w.setup_page.error.text() and w.controller.page == "setup"


def test_a_session_runs_to_the_end_page_with_plots_and_export(make_window, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    make, made = make_window
    w = make()
    w.setup_page.participant.setText("T")
    qtbot.waitUntil(lambda: w.setup_page.tracker.count() == 2, timeout=5000)  # listed when the window opens
    with qtbot.waitSignal(w.controller.session_finished, timeout=20000):
        w.setup_page.start.click()
        assert w.stack.currentWidget() is w.run_page
    assert w.stack.currentWidget() is w.end_page and made["session"].closed
    assert w.end_page.plots_status.text().startswith("plots in ")
    labels = w.end_page.summary_labels
    assert labels["status"].text() == "complete" and labels["trials"].text().startswith("2 of ")
    assert labels["gaze samples"].text() == "400 received, 0 lost (0.00%)"
    plots = sorted((tmp_path / "out" / "sub-T" / "ses-01" / "plots").glob("*.png"))
    assert len(plots) == 4 and w.end_page.plot_list.count() == 2
    assert w.end_page.scanpath.pixmap() is not None and not w.end_page.scanpath.pixmap().isNull()
    assert w.model.received == 400 and w.model.rate_hz is None or w.model.rate_hz > 0
    w.end_page.export_button.click()
    qtbot.waitUntil(lambda: w.end_page.export_status.text().startswith("done"), timeout=5000)
    assert w.end_page.progress.value() == 100 and made["exported"] == tmp_path / "out" / "sub-T" / "ses-01"


def test_pause_and_stop_reach_the_session(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    make, made = make_window
    w = make(hold=threading.Event())
    w.start(SetupChoice(DEMO_PROTOCOL, "T"))
    qtbot.waitUntil(lambda: "disk_low" in w.run_page.banners.banners, timeout=5000)
    assert w.controller.running
    qtbot.waitUntil(w.run_page.pause_button.isEnabled, timeout=5000)
    w.run_page.pause_button.click()
    assert w.run_page.pause_button.text() == "Resume" and made["session"].pauses == 1
    w.run_page.pause_button.click()
    assert w.run_page.pause_button.text() == "Pause after this trial" and made["session"].pauses == 2
    w.run_page.stop_button.click()
    qtbot.waitUntil(lambda: w.controller.page == "end", timeout=10000)
    assert w.end_page.summary_labels["status"].text() == "aborted"  # stopped before the last trial
    assert made["session"].stop.is_set()


def test_a_session_that_cannot_start_shows_why_on_the_setup_page(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    make, _ = make_window
    reason = "the participant screen (screen 0) is 1600x1000 px but the protocol says 1920x1080"
    w = make(fail=TrackerError(reason))
    qtbot.waitUntil(lambda: w.setup_page.tracker.count() > 0, timeout=5000)
    w.setup_page.participant.setText("P07")
    qtbot.mouseClick(w.setup_page.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.page == "setup" and w.setup_page.error.text() != "", timeout=5000)
    assert w.stack.currentWidget() is w.setup_page and w.setup_page.error.text() == f"not started: {reason}"
    assert w.model.status == "not started" and w.setup_page.start.isEnabled()
    assert not w.controller.running


def test_a_session_that_fails_while_running_says_why_on_the_end_page(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    make, made = make_window
    w = make(run_error=PovLabError("the participant screen stopped: window closed"))
    w.start(SetupChoice(DEMO_PROTOCOL, "T"))
    qtbot.waitUntil(lambda: w.controller.page == "end", timeout=5000)
    assert w.end_page.error.isVisibleTo(w.end_page)
    assert w.end_page.error.text() == "session failed: the participant screen stopped: window closed"
    rows = dict(w.model.summary_rows())
    assert rows["status"] == "failed" and rows["error"] == "the participant screen stopped: window closed"
    assert w.end_page.summary_labels["status"].text() == "failed"
    qtbot.mouseClick(w.end_page.new_button, Qt.MouseButton.LeftButton)
    assert w.stack.currentWidget() is w.setup_page  # from where the operator starts again


def test_export_without_a_backend_is_disabled_with_a_reason(make_window) -> None:  # type: ignore[no-untyped-def]
    make, _ = make_window
    w = make(export=False)
    assert not w.end_page.export_button.isEnabled() and "not available" in w.end_page.export_button.toolTip()


def test_setup_choice_validates_labels() -> None:
    with pytest.raises(PovLabError, match="session label"):
        SetupChoice(DEMO_PROTOCOL, "P01", session="0-1")
    with pytest.raises(PovLabError, match="participant screen"):
        SetupChoice(DEMO_PROTOCOL, "P01", presenter="beamer")


def test_several_gaze_streams_are_named_and_none_is_chosen(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    make, _ = make_window
    page = make().setup_page
    page.show_trackers([TrackerChoice("Simulated tracker", "sim", 1000.0, 6, True, "sim"),
                        TrackerChoice("Tobii on lab-pc", "lsl-id:t1", 600.0, 6, True, "Tobii Pro"),
                        TrackerChoice("EyeLink on lab-pc", "lsl-id:e1", 500.0, 10, True, "EyeLink"),
                        TrackerChoice("pupil_capture_fixations on lab-pc", "lsl-id:p1", 0.0, 7, False, "fixations")])
    assert page.tracker_note.text() == ("2 gaze streams answer (Tobii on lab-pc; EyeLink on lab-pc): "
                                        "choose the tracker to record")
    assert page.tracker.currentIndex() == 0  # the simulator, not one of the trackers
    page.tracker.setCurrentIndex(2)
    assert page.tracker_note.text() == "ok: EyeLink"
