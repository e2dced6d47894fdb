"""``povlab gui``: the operator window. ``--demo`` starts the demo session at once;
``--screenshot FILE.png --after S`` saves the live view after S seconds and exits.

This is the entry layer: it builds the concrete :class:`app.gui.backend.Backend` (sessions,
stream discovery, bundle and BIDS export) that the window uses, so ``app.gui`` itself never
imports pylsl, PsychoPy or the recorder.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from app.core.errors import PovLabError
from app.core.paths import ASSETS_DIR, BUNDLED_MODEL, DEMO_PROTOCOL, PROTOCOLS_DIR

# the demo's streams are all on this machine: found in milliseconds (the session waits this long for
# each of its own outlets too, so a short value starts the demo sooner)
DEMO_STREAM_TIMEOUT_S = 1.5


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="the operator window: set-up, live view with predictions, end of session")
    p.add_argument("--demo", action="store_true", help="start the demo session at once (simulated tracker and "
                   "participant, demo protocol, bundled model)")
    p.add_argument("--screenshot", type=Path, default=None, metavar="FILE.png",
                   help="run the demo session, save the window after --after seconds, then exit")
    p.add_argument("--after", type=float, default=10.0, metavar="SECONDS", help="when to take the screenshot")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop the session after S seconds")
    p.add_argument("--out", type=Path, default=Path("sessions"), help="root folder of the recordings")
    p.add_argument("--protocol", type=Path, default=DEMO_PROTOCOL, help="protocol of the demo / preselected one")
    p.add_argument("--model", type=Path, default=BUNDLED_MODEL, help="ONNX model for live predictions")
    p.add_argument("--no-model", action="store_true", help="no live predictions")
    p.add_argument("--sim-rate", type=float, default=1000.0, help="simulated tracker rate in Hz (demo)")
    p.add_argument("--seed", type=int, default=None, help="seed of the simulated tracker and participant")
    p.add_argument("--edit-aois", action="store_true", help="open --protocol in the AOI editor")
    p.add_argument("--study", type=Path, default=None, metavar="DIR",
                   help="open the study page on a folder of sessions (participants, status, quality, agreement)")
    p.add_argument("--review", type=Path, default=None, metavar="SESSION",
                   help="play back a recorded run (its .xdf, or its session folder) on the review page")
    p.set_defaults(func=run)


# -- the backend the window uses ---------------------------------------------------------------------
class _SessionHandle:
    def __init__(self, session: Any, presenter: Any) -> None:
        self.session, self.presenter = session, presenter

    def run(self) -> Any:
        return self.session.run()

    def request_stop(self) -> None:
        self.session.request_stop()

    def close(self) -> None:
        self.session.close()
        if hasattr(self.presenter, "close"):
            self.presenter.close()

    def gaze_source(self) -> Any:
        return getattr(self.session, "acquisition", None)

    @property
    def can_pause(self) -> bool:
        return hasattr(self.presenter, "toggle_pause")

    def toggle_pause(self) -> None:
        if self.can_pause:
            self.presenter.toggle_pause()


def start_session(choice: Any, listener: Any) -> _SessionHandle:
    from app.acquisition.tracker_spec import LslTrackerConnector, parse_tracker_spec
    from app.session.lsl_parts import lsl_parts
    from app.session.runner import Session, SessionConfig

    model = choice.model if choice.model is None or Path(choice.model).is_file() else None
    if choice.model is not None and model is None:
        raise PovLabError(f"{choice.model}: model file not found (choose another or tick 'no live predictions')")
    tracker = LslTrackerConnector(parse_tracker_spec(choice.tracker), sim_rate_hz=choice.sim_rate_hz, seed=choice.seed,
                                  timeout_s=choice.tracker_timeout_s)
    config = SessionConfig(protocol_path=choice.protocol_path, participant=choice.participant, session=choice.session,
                           out=choice.out, duration_s=choice.duration_s, model=model,
                           tracker_timeout_s=choice.tracker_timeout_s)
    if choice.presenter == "psychopy":
        from app.presentation.presenter import PsychoPyPresenter

        presenter: Any = PsychoPyPresenter(simulate_participant=False)
    else:
        from app.presentation.headless import HeadlessPresenter

        presenter = HeadlessPresenter(simulate_participant=True, seed=choice.seed)
    session = Session(config, presenter, listener=listener, tracker=tracker, parts=lsl_parts())
    try:
        session.prepare()
        if hasattr(presenter, "open"):
            presenter.open(session.protocol)
    except BaseException:
        session.close()
        raise
    return _SessionHandle(session, presenter)


def list_trackers(timeout_s: float) -> list[Any]:
    from app.acquisition.trackers import list_gaze_streams
    from app.gui.backend import TrackerChoice

    return [TrackerChoice(t.label, t.tracker, t.rate_hz, t.n_channels, t.ok, t.note)
            for t in list_gaze_streams(timeout_s)]


def export_session(folder: Path, progress: Any) -> str:
    """Bundle (``<out>/bundles/``) and BIDS export (``<out>/bids``) of one session folder."""
    from app.runfolder.bids_export import export_session as bids
    from app.runfolder.bundle import bundle_session

    root = folder.parent.parent
    name = f"{folder.parent.name}_{folder.name}"
    target = root / "bundles" / f"{name}.zip"
    k = 2
    while target.exists():
        target = root / "bundles" / f"{name}-{k}.zip"
        k += 1
    progress(0.05, f"bundling into {target} …")
    b = bundle_session(folder, target)
    progress(0.5, f"bundled {b.files} files; exporting to BIDS in {root / 'bids'} …")
    try:
        r = bids(folder, root / "bids")
    except PovLabError as exc:
        raise type(exc)(f"bundle written to {b.path}, but the BIDS export failed: {exc}") from exc
    return f"done: bundle {b.path} ({b.bytes / 1e6:.1f} MB); BIDS {r.dataset} ({r.samples} gaze samples)"


class _RemoteHandle:
    """The window's remote-control server and the recorder behind it; ``close()`` ends a recording first."""

    def __init__(self, server: Any, controller: Any) -> None:
        self.server, self.controller = server, controller

    @property
    def port(self) -> int:
        return int(self.server.port)

    def close(self) -> None:
        try:
            self.controller.stop_recording()
        finally:
            self.server.close()


def remote_control(port: int, root: Path) -> _RemoteHandle:
    """LabRecorder's remote control on 127.0.0.1:``port``, recordings confined to ``root`` (created if needed)."""
    from app.recording.lsl_controller import LslRecordingController
    from app.recording.remote_control import RemoteControlServer

    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PovLabError(f"remote control: cannot create the output folder {root} ({exc.strerror})") from exc
    controller = LslRecordingController()
    return _RemoteHandle(RemoteControlServer(controller, port=port, data_root=root).start(), controller)


def training_available() -> bool:
    """PyTorch installed and the source checkout's models/ package at hand."""
    import importlib.util

    from app.core.paths import SOURCE_ROOT

    return importlib.util.find_spec("torch") is not None and SOURCE_ROOT is not None and \
        (SOURCE_ROOT / "models" / "study_training.py").is_file()


def recover_report(folder: Path) -> str:
    """Recover a session folder's crashed runs (``povlab recover``); one line saying what was done."""
    from app.runfolder.recover import recover_session

    lines = []
    for r in recover_session(folder):
        lines.append(f"{r.stem}: recovered {r.duration_s:.1f} s, {r.trials} trials" if r.recovered
                     else f"{r.stem}: ended cleanly ({r.status_before})")
    return "; ".join(lines) or f"{folder}: nothing to recover"


def backend() -> Any:
    from app.commands.study import train_study
    from app.formats.protocol_toml import save_aois
    from app.gui.backend import Backend
    from app.runfolder.review import load_review
    from app.study.status import study_status
    from app.study.trained_models import study_models

    return Backend(start_session=start_session, list_trackers=list_trackers, export_session=export_session,
                   save_aois=save_aois, remote_control=remote_control, load_review=load_review,
                   study_status=study_status, recover_session=recover_report,
                   train_study=train_study if training_available() else None, study_models=study_models)


# -- running the window -----------------------------------------------------------------------------
def display_available() -> bool:
    """Whether a window can be shown (an X11/Wayland display, or a Qt platform chosen explicitly)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def _quiet_qt(mode: Any, context: Any, message: str) -> None:
    """Qt's own messages: the offscreen platform's notes are noise; the rest goes to stderr."""
    if "does not support propagateSizeHints" in message:
        return
    print(f"qt: {message}", file=sys.stderr)


def _qt_app(offscreen_ok: bool) -> Any:
    if not display_available():
        if not offscreen_ok:
            raise PovLabError("no display found (DISPLAY is not set): run on a desktop, under Xvfb, or use "
                              "--screenshot FILE.png (which draws offscreen)")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtGui import QFont, QFontDatabase
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_quiet_qt)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    if QFontDatabase.addApplicationFont(str(ASSETS_DIR / "fonts" / "DejaVuSans.ttf")) >= 0:
        app.setFont(QFont("DejaVu Sans", 10))
    return app


def demo_choice(args: argparse.Namespace) -> Any:
    from app.gui.backend import SetupChoice

    model = None if getattr(args, "no_model", False) else getattr(args, "model", BUNDLED_MODEL)
    if model is not None and not Path(model).is_file():
        model = None  # the demo runs without predictions when no model is bundled
    return SetupChoice(getattr(args, "protocol", DEMO_PROTOCOL), "demo", "01", "sim", args.out, model,
                       sim_rate_hz=getattr(args, "sim_rate", 1000.0), duration_s=args.duration,
                       seed=getattr(args, "seed", None), tracker_timeout_s=DEMO_STREAM_TIMEOUT_S)


def run_demo_window(args: argparse.Namespace, close_when_done: bool = False) -> int:
    """``povlab demo`` with a display: the window on the demo session; returns when the window is closed
    (or, with ``close_when_done``, when the session has ended and its plots are written).

    Reads ``out``, ``duration``, ``no_model``, ``model``, ``seed`` (and ``protocol``, ``sim_rate`` if present)
    from ``args``, as ``povlab demo`` parses them.
    """
    ns = argparse.Namespace(**{"protocol": DEMO_PROTOCOL, "model": BUNDLED_MODEL, "no_model": False, "seed": None,
                               "sim_rate": 1000.0, "duration": None, "out": Path("sessions"), "edit_aois": False,
                               "study": None, "review": None, **vars(args)})
    ns.demo, ns.screenshot, ns.after, ns.close_when_done = True, None, 10.0, close_when_done
    return run(ns)


def run(args: argparse.Namespace) -> int:
    shot: Path | None = args.screenshot
    if shot is not None:
        if shot.suffix.lower() != ".png":
            raise PovLabError(f"--screenshot {shot}: expected a .png file name")
        if not (args.after > 0):
            raise PovLabError(f"--after must be a positive number of seconds, got {args.after}")
        if not shot.parent.resolve().is_dir():
            raise PovLabError(f"--screenshot {shot}: folder {shot.parent} does not exist")
    if args.duration is not None and not args.duration > 0:
        raise PovLabError(f"--duration must be positive, got {args.duration}")
    if not Path(args.protocol).is_file():
        raise PovLabError(f"--protocol {args.protocol}: protocol file not found")
    if args.review is not None and not Path(args.review).exists():
        raise PovLabError(f"--review {args.review}: recording not found (give its .xdf or its session folder)")
    app = _qt_app(offscreen_ok=shot is not None)
    from PySide6.QtCore import QEvent, QEventLoop, QTimer

    from app.gui.main_window import MainWindow

    protocols = [Path(args.protocol)] + sorted(p for p in PROTOCOLS_DIR.glob("*.toml") if p != Path(args.protocol))
    model = None if args.no_model else args.model
    window = MainWindow(backend(), protocols, args.out, model)
    window.duration_s, window.seed = args.duration, args.seed
    window.show()
    if args.edit_aois and not window.edit_aois():
        raise PovLabError(f"--edit-aois: {window.setup_page.error.text()}")
    if args.study is not None:
        window.open_study(args.study)
    if args.review is not None and (problem := window.review(args.review)):
        raise PovLabError(f"--review {args.review}: {problem}")
    if args.demo or shot is not None:
        window.start(demo_choice(args))
    saved: dict[str, Any] = {}
    # a local event loop (not app.exec()): it ends when the window closes or the demo is done, and leaves the
    # application usable afterwards (tests share one QApplication)
    loop = QEventLoop()
    app.lastWindowClosed.connect(loop.quit)
    if getattr(args, "close_when_done", False):
        window.controller.session_finished.connect(loop.quit)
    if shot is not None:
        def take() -> None:
            saved["ok"] = window.grab().save(str(shot), "PNG")
            if window.controller.running:
                window.controller.session_finished.connect(loop.quit)
                window.controller.stop()
            else:
                loop.quit()
        QTimer.singleShot(int(args.after * 1000), take)
    # Ctrl+C in the terminal: leave the loop and stop the session cleanly (Python runs signal handlers only
    # between bytecodes, so a timer wakes the interpreter)
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: loop.quit()) if main else None
    try:
        loop.exec()
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        wake.stop()
        app.lastWindowClosed.disconnect(loop.quit)  # the loop ends here; the application lives on
    if window.controller.running:
        window.controller.stop()
    window.controller.wait(30.0)  # the recording is closed and the plots are written before we exit
    window.close()
    app.processEvents()  # deliver what the session's threads posted to the window while it still exists
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    error = window.model.banners.get("error")
    if shot is not None:
        if not saved.get("ok"):
            raise PovLabError(f"--screenshot {shot}: the window could not be saved")
        print(shot)
    if error and window.model.folder is None:
        raise PovLabError(error)
    return 0
