"""The operator window's controller: runs the session on a worker thread and keeps the model current.

One frame timer (30 Hz by default) does all the GUI-thread work: it drains the session's events
into the :class:`LiveModel`, polls the gaze ring buffer once (never one signal per sample), and
runs the results that worker threads (session, stream discovery, export) hand back. The session
writes its plots itself (``app/session/trial_plots.py``); the end page only lists them.
Widgets never see the session, the backend or the disk.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from app.core.errors import PovLabError
from app.core.protocol import Protocol, load_protocol
from app.gui.backend import Backend, RunningSession, SetupChoice
from app.gui.images import ImageStore
from app.gui.live_model import LiveModel
from app.gui.polling import EventQueue, GazePoller

log = logging.getLogger(__name__)


class Controller(QObject):
    page_changed = Signal(str)  # setup | run | end
    session_finished = Signal()  # the session thread is done (its plots are written by then)

    def __init__(self, backend: Backend, model: LiveModel, images: ImageStore, frame_ms: int = 33,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)  # parented to the window: its frame timer dies with the widgets
        self.backend = backend
        self.model = model
        self.images = images
        self.events = EventQueue()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.protocol: Protocol | None = None
        self.session: RunningSession | None = None
        self.poller: GazePoller | None = None
        self.worker: threading.Thread | None = None
        self.plots: list[tuple[str, Path, Path]] = []  # (trial label, scanpath, heatmap)
        self.export_busy = False
        self.page = "setup"
        self._stop_early = threading.Event()
        self._announced = False
        # views set these to be told about results (kept as plain callables: no I/O in views)
        self.on_protocol: Callable[[Protocol | None, str], None] = lambda p, e: None
        self.on_trackers: Callable[[list[Any], str], None] = lambda t, e: None
        self.on_end: Callable[[], None] = lambda: None
        self.on_export: Callable[[float | None, str], None] = lambda f, m: None
        self.on_session_ready: Callable[[bool], None] = lambda can_pause: None
        self.on_plots: Callable[[list[tuple[str, Path, Path]], str], None] = lambda p, m: None
        self.on_not_started: Callable[[str], None] = lambda reason: None
        self.timer = QTimer(self)
        self.timer.setInterval(frame_ms)
        self.timer.timeout.connect(self.frame)
        self.timer.start()

    # -- GUI-thread work, once per frame --------------------------------------------------------
    def frame(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                break
            call()
        self.events.drain(self.model)
        if self.session is not None and not self._announced:
            self._announced = True
            self.on_session_ready(bool(getattr(self.session, "can_pause", False)))
        if self.session is not None and self.poller is None:
            source = self.session.gaze_source()
            if source is not None:
                self.poller = GazePoller(source, self.model)
                self.model.nominal_rate_hz = getattr(source, "rate_hz", None)
        if self.poller is not None:
            self.poller.poll()

    def _later(self, call: Callable[[], None]) -> None:
        """Run ``call`` in the GUI thread at the next frame (from any thread)."""
        self._calls.put(call)

    def _in_worker(self, name: str, work: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=work, name=f"gui-{name}", daemon=True)
        thread.start()
        return thread

    def background(self, name: str, work: Callable[[], object],
                   done: Callable[[object | None, str], None]) -> threading.Thread:
        """Run ``work`` on a worker thread, then ``done(result, error message)`` in the GUI thread."""
        def run() -> None:
            try:
                result = work()
            except PovLabError as exc:
                message = str(exc)
                self._later(lambda: done(None, message))
                return
            self._later(lambda: done(result, ""))
        return self._in_worker(name, run)

    # -- set-up -------------------------------------------------------------------------------------
    def choose_protocol(self, path: str | Path) -> Protocol | None:
        try:
            protocol = load_protocol(path)
        except PovLabError as exc:
            self.protocol = None
            self.on_protocol(None, str(exc))
            return None
        self.protocol = protocol
        self.model.geometry = protocol.screen
        self.images.preload([t.image for t in protocol.all_trials])
        self.on_protocol(protocol, "")
        return protocol

    def refresh_trackers(self, timeout_s: float = 1.0) -> None:
        def work() -> None:
            try:
                found = self.backend.list_trackers(timeout_s)
                self._later(lambda: self.on_trackers(found, ""))
            except PovLabError as exc:
                message = str(exc)
                self._later(lambda: self.on_trackers([], message))
        self._in_worker("trackers", work)

    # -- the session -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    def start(self, choice: SetupChoice) -> None:
        if self.running:
            raise PovLabError("a session is already running")
        if (self.protocol is None or Path(self.protocol.path) != Path(choice.protocol_path)) \
                and self.choose_protocol(choice.protocol_path) is None:
                raise PovLabError(f"{choice.protocol_path}: the protocol could not be loaded")
        self.model.reset()
        self.poller, self.session, self.plots = None, None, []
        self._stop_early.clear()
        self._announced = False
        self.on_session_ready(False)
        self._set_page("run")

        def work() -> None:
            try:
                session = self.backend.start_session(choice, self.events)
            except PovLabError as exc:  # nothing was recorded: back to the set-up page with the reason
                reason = str(exc)
                self._later(lambda: self._not_started(reason))
                return
            except Exception as exc:  # shown to the operator and logged, never swallowed
                log.exception("session could not start")
                reason = f"{type(exc).__name__}: {exc}"
                self._later(lambda: self._not_started(reason))
                return
            try:
                self.session = session
                if self._stop_early.is_set():
                    session.request_stop()
                try:
                    session.run()
                finally:
                    session.close()
            except PovLabError as exc:
                message = str(exc)
                self._later(lambda: self._failed(message))
            except Exception as exc:  # shown to the operator and logged, never swallowed
                log.exception("session failed")
                message = f"session failed: {type(exc).__name__}: {exc}"
                self._later(lambda: self._failed(message))
            self._later(self._finished)
        self.worker = self._in_worker("session", work)

    def toggle_pause(self) -> None:
        """Pause the participant screen after the current trial, or resume it (PsychoPy presenter only)."""
        if self.session is not None and getattr(self.session, "can_pause", False):
            self.session.toggle_pause()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._stop_early.set()  # a session still being prepared stops as soon as it exists
        if self.session is not None:
            self.session.request_stop()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until the session thread (which writes the plots before it ends) is done (closing, screenshot mode)."""
        if self.worker is not None:
            self.worker.join(timeout_s)
        self.frame()  # runs _finished
        return not self.running

    def _failed(self, message: str) -> None:
        """The session stopped with an error: what it announced before comes first, then the failure."""
        self.events.drain(self.model)
        self.model.fail(message)

    def _not_started(self, reason: str) -> None:
        """The session could not be prepared: the operator is back on the set-up page with the reason."""
        self.events.drain(self.model)
        self.model.not_started(reason)
        self.session = None
        self._set_page("setup")
        self.on_not_started(reason)
        self.session_finished.emit()

    def _finished(self) -> None:
        self.events.drain(self.model)
        if self.poller is not None:
            self.poller.poll()
        self.poller = None
        self._set_page("end")
        self.on_end()
        ended = self.model.ended
        if ended is not None:  # the session wrote its plots before it ended; the end page lists them
            self.plots = [(p.label, p.scanpath, p.heatmap) for p in ended.plots]
            self.on_plots(self.plots, ended.plots_note)
        self.session_finished.emit()

    # -- end of session ----------------------------------------------------------------------------
    def export(self) -> None:
        folder = self.model.folder
        export = self.backend.export_session
        if export is None or folder is None or self.export_busy:
            return
        self.export_busy = True

        def progress(fraction: float, message: str) -> None:
            self._later(lambda: self.on_export(fraction if fraction >= 0 else None, message))

        def work() -> None:
            try:
                report = export(folder, progress)
                self._later(lambda: self.on_export(1.0, report))
            except PovLabError as exc:
                message = f"export failed: {exc}"
                self._later(lambda: self.on_export(0.0, message))
            finally:
                self._later(self._export_done)
        self._in_worker("export", work)

    def _export_done(self) -> None:
        self.export_busy = False

    def open_folder(self) -> bool:
        if self.model.folder is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.model.folder)))

    def new_session(self) -> None:
        if not self.running:
            self._set_page("setup")

    def _set_page(self, page: str) -> None:
        self.page = page
        self.page_changed.emit(page)
