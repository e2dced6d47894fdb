"""The operator window: set-up, run and end-of-session pages over one controller and one model."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from app.core.aoi_editing import AoiDocument
from app.core.errors import PovLabError
from app.gui.backend import Backend, RemoteServer, SetupChoice
from app.gui.controller import Controller
from app.gui.images import ImageStore
from app.gui.live_model import LiveModel
from app.gui.pages.aoi_editor import AoiEditorPage
from app.gui.pages.end_page import EndPage
from app.gui.pages.review_page import ReviewPage
from app.gui.pages.run_page import RunPage
from app.gui.pages.setup_page import SetupPage
from app.gui.pages.study_page import StudyPage


class MainWindow(QMainWindow):
    def __init__(self, backend: Backend, protocols: list[Path], out: Path = Path("sessions"),
                 model_path: Path | None = None, frame_ms: int = 33) -> None:
        super().__init__()
        self.setWindowTitle("POV Lab")
        self.resize(1440, 860)
        self.model = LiveModel()
        self.images = ImageStore()
        self.controller = Controller(backend, self.model, self.images, frame_ms, parent=self)
        self.setup_page = SetupPage(protocols, out, model_path)
        self.run_page = RunPage(self.model, self.images)
        self.end_page = EndPage()
        self.aoi_page = AoiEditorPage(self.images.get)
        self.aoi_page.save = backend.save_aois
        self.review_page = ReviewPage(self.images.get, frame_ms)
        self.load_review = backend.load_review
        self._page_before_review: QWidget = self.setup_page
        self.study_page = StudyPage()
        self.backend = backend
        self.stack = QStackedWidget()
        for page in (self.setup_page, self.run_page, self.end_page, self.aoi_page, self.review_page, self.study_page):
            self.stack.addWidget(page)
        self.setCentralWidget(self.stack)
        self.duration_s: float | None = None
        self.seed: int | None = None

        c = self.controller
        c.on_protocol = self.setup_page.show_protocol
        c.on_trackers = self.setup_page.show_trackers
        c.on_end = self._show_end
        c.on_export = self.end_page.show_export_progress
        c.on_plots = self._show_plots
        c.on_not_started = self._not_started
        c.page_changed.connect(self._show_page)
        self.setup_page.protocol_changed.connect(c.choose_protocol)
        self.setup_page.refresh_trackers.connect(c.refresh_trackers)
        self.setup_page.start_requested.connect(self._start_from_setup)
        self.setup_page.edit_aois_requested.connect(self.edit_aois)
        self.remote_server: RemoteServer | None = None
        self.setup_page.remote.toggled.connect(self.toggle_remote_control)
        if backend.remote_control is None:
            self.setup_page.remote.setEnabled(False)
        self.aoi_page.back_requested.connect(self._back_from_aois)
        self.review_page.back_requested.connect(lambda: self.stack.setCurrentWidget(self._page_before_review))
        self.end_page.review_requested.connect(self._review_last_session)
        self.setup_page.study_requested.connect(self.open_study)
        self.study_page.refresh_requested.connect(self.refresh_study)
        self.study_page.recover_requested.connect(self._recover)
        self.study_page.review_requested.connect(lambda folder: self._review_from_study(folder))
        self.study_page.back_requested.connect(lambda: self.stack.setCurrentWidget(self.setup_page))
        self.study_page.train_requested.connect(self.train_on_study)
        self.study_page.cancel_training_requested.connect(self.cancel_training)
        self.study_page.use_model_requested.connect(self.use_model)
        self.training_cancel: threading.Event | None = None
        self.run_page.stop_requested.connect(c.stop)
        self.run_page.pause_toggled.connect(c.toggle_pause)
        c.on_session_ready = self.run_page.set_pausable
        self.end_page.export_requested.connect(self._export)
        self.end_page.open_folder_requested.connect(c.open_folder)
        self.end_page.new_session_requested.connect(c.new_session)
        self.end_page.plot_selected.connect(self._show_plot)
        if backend.export_session is None:
            self.end_page.set_export_available(False, "export is not available in this installation")
        if protocols:
            c.choose_protocol(protocols[0])
        self.setup_page.show_trackers([], "looking for LSL gaze streams …")
        c.refresh_trackers()

    def start(self, choice: SetupChoice) -> None:
        self.controller.start(choice)

    def _start_from_setup(self) -> None:
        try:
            choice = self.setup_page.choice(self.duration_s, self.seed)
            self.setup_page.show_error("")
            self.controller.start(choice)
        except PovLabError as exc:
            self.setup_page.show_error(str(exc))

    def edit_aois(self) -> bool:
        """Open the chosen protocol in the AOI editor (False, with the reason shown, when it does not load)."""
        protocol = self.controller.protocol
        if protocol is None:
            self.setup_page.show_error("choose a protocol that loads before editing its AOIs")
            return False
        try:
            self.aoi_page.open(AoiDocument.from_protocol(protocol))
        except PovLabError as exc:
            self.setup_page.show_error(str(exc))
            return False
        self.stack.setCurrentWidget(self.aoi_page)
        return True

    def _back_from_aois(self) -> None:
        # the set-up page shows the protocol as it is on disk now (saved AOIs included)
        if self.controller.protocol is not None:
            self.controller.choose_protocol(self.controller.protocol.path)
        self.stack.setCurrentWidget(self.setup_page)

    def review(self, path: Path) -> str:
        """Open a recorded run on the review page; returns '' or why it could not be opened."""
        if self.load_review is None:
            return "review is not available in this installation"
        try:
            loaded = self.load_review(Path(path))
        except PovLabError as exc:
            return str(exc)
        self._page_before_review = self.stack.currentWidget()
        self.review_page.open(loaded)
        self.stack.setCurrentWidget(self.review_page)
        return ""

    def _review_last_session(self) -> None:
        folder = self.model.folder
        problem = self.review(folder) if folder is not None else "no session recorded yet"
        if problem:
            self.end_page.show_export_progress(0.0, f"cannot review: {problem}")

    def open_study(self, folder: str | Path) -> None:
        """Show the study page on ``folder`` (its table fills in when the worker has read it)."""
        self.stack.setCurrentWidget(self.study_page)
        self.study_page.open(folder)

    def refresh_study(self, folder: str) -> None:
        status_of = self.backend.study_status
        if status_of is None:
            self.study_page.show_error("the study overview is not available in this installation")
            return
        if not folder:
            self.study_page.show_error("choose a study folder")
            return
        self.study_page.show_busy(f"reading {folder} …")

        def done(result: object | None, error: str, message: str = "") -> None:
            if result is None:
                self.study_page.show_error(error)
            else:
                self.study_page.show_status(result, message)
                self._show_models(folder)

        self.controller.background("study", lambda: status_of(Path(folder)), done)

    def _show_models(self, folder: str) -> None:
        if self.backend.study_models is not None and folder:
            self.study_page.show_models(self.backend.study_models(Path(folder)))

    def train_on_study(self, folder: str) -> None:
        """Cross-validate and train on the study in a worker process, with progress and a cancel button."""
        train = self.backend.train_study
        if train is None:
            self.study_page.show_training_error("training is not available in this installation (it needs PyTorch "
                                                "and POV Lab's source checkout)")
            return
        if not folder:
            self.study_page.show_training_error("choose a study folder")
            return
        if self.training_cancel is not None:
            return  # one training at a time
        cancel = self.training_cancel = threading.Event()
        self.study_page.show_training(True, 0.0, "starting the training process …")

        def progress(fraction: float, message: str) -> None:
            self.controller._later(lambda: self.study_page.show_training(True, fraction, message))

        def done(result: object | None, error: str) -> None:
            self.training_cancel = None
            if result is None:
                self.study_page.show_training_error(error)
                return
            f = result if isinstance(result, dict) else {}
            m, prior = f.get("model", {}), f.get("participant_image_prior", {})
            self.study_page.show_training(False, 1.0, (
                f"{f.get('trials')} trials, {f.get('folds')}-fold cross-validation: model "
                f"{m.get('accuracy_mean', float('nan')):.3f} ± {m.get('accuracy_std', float('nan')):.3f} vs the "
                f"participant-and-image prior {prior.get('accuracy_mean', float('nan')):.3f}; kept in "
                f"{f.get('folder')}"))
            self._show_models(folder)

        self.controller.background("train", lambda: train(Path(folder), progress, cancel), done)

    def cancel_training(self) -> None:
        if self.training_cancel is not None:
            self.training_cancel.set()
            self.study_page.show_training(True, self.study_page.train_progress.value() / 1000, "cancelling …")

    def use_model(self, onnx: str) -> None:
        """The chosen trained model becomes the live model of the next sessions (the set-up page's model field)."""
        self.setup_page.model.setText(onnx)
        self.setup_page.no_model.setChecked(False)
        self.study_page.train_status.setStyleSheet("")
        self.study_page.train_status.setText(f"next sessions use {onnx}")

    def _recover(self, run_folder: str) -> None:
        recover = self.backend.recover_session
        if recover is None:
            self.study_page.show_error("recovery is not available in this installation")
            return
        self.study_page.show_busy(f"recovering {run_folder} …")

        def done(result: object | None, error: str) -> None:
            if result is None:
                self.study_page.show_error(f"recovery failed: {error}")
            else:
                self.study_page.message.setText(str(result))
                self.refresh_study(self.study_page.folder.text().strip())

        self.controller.background("recover", lambda: recover(Path(run_folder)), done)

    def _review_from_study(self, run_folder: str) -> None:
        problem = self.review(Path(run_folder))
        if problem:
            self.study_page.show_error(f"cannot review: {problem}")

    def _show_page(self, page: str) -> None:
        self.stack.setCurrentWidget({"setup": self.setup_page, "run": self.run_page, "end": self.end_page}[page])

    def _show_end(self) -> None:
        self.end_page.show_summary(self.model.summary_rows())
        self.end_page.show_error(self.model.failure)

    def _not_started(self, reason: str) -> None:
        self.setup_page.show_error(f"not started: {reason}")

    def _show_plots(self, plots: list[tuple[str, Path, Path]], message: str) -> None:
        self.end_page.show_plot_list([label for label, _, _ in plots], message)

    def _show_plot(self, row: int) -> None:
        plots = self.controller.plots
        if 0 <= row < len(plots):
            _, scan, heat = plots[row]
            self.end_page.show_plot(self.images.get(scan), self.images.get(heat))

    def _export(self) -> None:
        self.end_page.show_export_progress(0.0, "exporting…")
        self.controller.export()

    def toggle_remote_control(self, on: bool, port: int) -> None:
        """Host (or stop) a LabRecorder remote-control server that records into the output folder."""
        box = self.setup_page.remote
        if self.remote_server is not None:
            self.remote_server.close()
            self.remote_server = None
        if not on or self.controller.backend.remote_control is None:
            box.show_state(False, "off")
            return
        root = Path(self.setup_page.out.text().strip() or ".")
        try:
            self.remote_server = self.controller.backend.remote_control(port, root)
        except PovLabError as exc:
            box.show_state(False, str(exc))
            return
        box.show_state(True, f"listening on 127.0.0.1:{self.remote_server.port}, recording into {root}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Closing the window stops a running session cleanly (what was recorded is kept)."""
        if self.remote_server is not None:
            self.remote_server.close()
            self.remote_server = None
        if self.controller.running:
            self.controller.stop()
        self.controller.wait(30.0)
        event.accept()
