"""Run one recording session: tracker -> acquisition -> recorder + live pipeline, presenter in front.

Everything is checked before a file is written (protocol, layouts, model, tracker stream,
output folder; the entry layer hands in the tracker as a :class:`app.core.ports.TrackerConnector`); then the run's XDF records the tracker's gaze stream and the session's
markers, fixations and predictions streams, the trials table grows one row per trial, and
``session.json`` is rewritten atomically at start and end. A disk that fills up or a tracker
that vanishes never loses what was already written.
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from app import __version__
from app.core.answers import ANSWERS, most_probable
from app.core.errors import PovLabError, RecordingError, TrackerError
from app.core.hashing import sha256_file
from app.core.layout import layout_trial
from app.core.markers import display_coords_marker, parse_marker
from app.core.paths import BUNDLED_MODEL
from app.core.ports import TrackerConnection, TrackerConnector
from app.core.presenting import Presenter, TrialOutcome
from app.core.protocol import Protocol, load_protocol
from app.core.run_metadata import (
    CountersRecord,
    FilesRecord,
    ModelRecord,
    RecorderRecord,
    RunMetadata,
    SessionStatus,
    TrackerRecord,
)
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
from app.runfolder.files import (
    RunFiles,
    TrialsTable,
    check_label,
    check_writable,
    copy_protocol,
    next_run,
    release_reserve,
    reserve_space,
    write_meta,
)
from app.runfolder.plots import TrialPlots
from app.session.trial_plots import TrialPlotter
from app.session.updates import (
    PersonalisationUpdated,
    ScreenShown,
    SessionEnded,
    SessionEvent,
    SessionStarted,
    SessionWarning,
    TrialFinished,
    TrialStarted,
    ValidationMeasured,
)

log = logging.getLogger(__name__)
LOW_DISK_BYTES = 500 * 2**20
# markers that change what the participant screen shows -> the screen the operator window draws
SCREENS = {"FIXCROSS_ONSET": "fixation_cross", "STIM_ONSET": "stimulus", "STIM_OFFSET": "blank",
           "VALIDATION_END": "blank"}


MAX_DURATION_S = 86_400.0  # --duration inf reached threading.Timer (an OverflowError in its thread)
MAX_TRACKER_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class SessionConfig:
    protocol_path: Path
    participant: str
    session: str = "01"
    task: str = "pov"
    out: Path = Path("sessions")
    duration_s: float | None = None  # stop after this long (the demo's --duration)
    model: Path | None = BUNDLED_MODEL  # None: no live predictions
    tracker_timeout_s: float = 5.0  # for the session's own streams to appear on LSL
    channels: str | None = None  # explicit channel mapping for undescribed streams
    preset: str | None = None
    detection: str = "nh"  # the default detector (app.detection.pipeline.DEFAULT_METHOD), online form
    plots: bool = True  # write each trial's scanpath and heatmap into the run folder's plots/ at the end

    def __post_init__(self) -> None:
        if not 0 < self.tracker_timeout_s <= MAX_TRACKER_TIMEOUT_S:  # also false for NaN
            raise TrackerError(f"tracker timeout must be > 0 s and at most {MAX_TRACKER_TIMEOUT_S:g} s, "
                               f"got {self.tracker_timeout_s}")
        for kind, label in (("participant", self.participant), ("session", self.session), ("task", self.task)):
            check_label(kind, label)
        if self.duration_s is not None and not 0 < self.duration_s <= MAX_DURATION_S:
            raise PovLabError(f"--duration must be above 0 and at most {MAX_DURATION_S:g} s (a day), "
                              f"got {self.duration_s}")


class _Markers:
    """The MarkerSink the presenter pushes into: LSL outlet + live pipeline + trial events."""

    def __init__(self, outlet: Any, on_marker: Callable[[str, float], None], clock: Callable[[], float]) -> None:
        self.outlet = outlet
        self.on_marker = on_marker
        self._clock = clock
        self.log: list[tuple[float, str]] = []

    def push(self, marker: str, timestamp: float) -> None:
        self.outlet.push(marker, timestamp=timestamp)
        self.log.append((timestamp, marker))
        self.on_marker(marker, timestamp)

    def clock(self) -> float:
        return float(self._clock())


@dataclass
class SessionResult:
    folder: Path
    files: RunFiles
    status: SessionStatus
    meta: RunMetadata  # as written into session.json at the end
    outcomes: list[TrialOutcome] = field(default_factory=list)


class Session:
    """One run. ``prepare()`` checks everything and writes nothing; ``run()`` records.

    ``tracker`` connects the gaze stream once the protocol is loaded (the entry layer builds it, e.g.
    :class:`app.acquisition.tracker_spec.LslTrackerConnector` of ``--tracker sim``).
    """

    def __init__(self, config: SessionConfig, presenter: Presenter,
                 listener: Callable[[SessionEvent], None] | None = None, *, tracker: TrackerConnector) -> None:
        self.config = config
        self.presenter = presenter
        self.listener = listener
        self.connector = tracker
        self.stop_event = threading.Event()
        self.protocol: Protocol | None = None
        self.predictor: Any = None
        self.tracker: TrackerConnection | None = None
        self.markers_source_id = f"povlab-{uuid.uuid4().hex[:10]}-markers"
        self._meta: RunMetadata | None = None
        self._plotter = TrialPlotter()
        self._warnings: list[str] = []
        self._markers: _Markers | None = None
        self._meta_lock = threading.Lock()  # session.json is written from the run and from the validation timer
        self.acquisition: Any = None  # GazeAcquisition; the operator window polls .buffer and .counters

    def emit(self, event: SessionEvent) -> None:
        self._plotter.observe(event)
        if isinstance(event, SessionWarning):
            self._warnings.append(event.message)
            log.warning(event.message)
        if self.listener is not None:
            try:
                self.listener(event)
            except Exception:  # a listener's bug must not stop a recording
                log.exception("session listener failed on %s", type(event).__name__)

    def request_stop(self) -> None:
        self.stop_event.set()

    # -- preparation: nothing is written ------------------------------------------------------
    def prepare(self) -> None:
        cfg = self.config
        self.protocol = load_protocol(cfg.protocol_path)
        for trial in self.protocol.all_trials:
            layout_trial(self.protocol, trial)  # a caption that does not fit fails here
        if cfg.model is not None:
            from app.inference.predictor import LivePredictor

            self.predictor = LivePredictor.load(cfg.model, self.protocol)
        self.close()  # a second prepare() replaces the tracker of the first
        self.tracker = self.connector.connect(self.protocol, self.markers_source_id)
        replaying = self.tracker.channels_mapped
        from app.acquisition.inlet import GazeAcquisition

        # channels are mapped now: a stream with the wrong channels fails before anything is written
        self.acquisition = GazeAcquisition(
            self.tracker.stream, screen_px=(self.protocol.screen.width_px, self.protocol.screen.height_px),
            # a replay publishes a stream its metadata maps: --channels/--preset were applied to the file
            mapping=None if replaying else cfg.channels, preset=None if replaying else cfg.preset,
            on_gap=self._on_gap,
            on_gap_start=lambda t: self.emit(SessionWarning(
                "stream_lost", f"tracker stream lost at {t:.3f} s; waiting for it to come back")),
            on_stream_changed=self._on_stream_changed, on_warning=self._on_quality_warning)
        check_writable(cfg.out, cfg.participant, cfg.session)  # refuses an unwritable folder, creates nothing

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> SessionResult:
        if self.protocol is None:
            self.prepare()
        assert self.protocol is not None and self.tracker is not None
        cfg, protocol, tracker = self.config, self.protocol, self.tracker
        from app.acquisition.discovery import find_streams
        from app.acquisition.outlets import lsl_clock, open_outlet
        from app.detection.online import OnlineDetector
        from app.recording.xdf_recorder import XdfRecorder
        from app.session.live import LivePipeline

        acq = self.acquisition
        files = next_run(cfg.out, cfg.participant, cfg.session, cfg.task)
        copy_protocol(cfg.protocol_path, sorted({t.image for t in protocol.all_trials} | {protocol.style.font}),
                      files.folder)
        sid = self.markers_source_id.removesuffix("-markers")
        mk_out = open_outlet(MARKERS, self.markers_source_id)
        fix_out = open_outlet(FIXATIONS, f"{sid}-fixations")
        pred_out = open_outlet(PREDICTIONS, f"{sid}-predictions")
        own = [_own_stream(find_streams, s, cfg.tracker_timeout_s)
               for s in (self.markers_source_id, f"{sid}-fixations", f"{sid}-predictions")]
        recorder = XdfRecorder(files.xdf, [d.resolved or d.info for d in (tracker.stream, *own)],
                               on_error=lambda msg: self._on_disk_error(msg))
        self._meta = self._metadata(files, acq)
        self._files = files
        reserve_space(files.session_json)
        self._update_meta(files)
        recorder.start()
        self.recorder = recorder
        acq.start()
        # a reconnecting stream may repeat time stamps: the detector drops (and counts) those
        rate = acq.rate_hz
        if rate <= 0:  # a vendor app that publishes no nominal rate: the detector takes the rate its time stamps show
            rate = acq.measured_rate_hz(cfg.tracker_timeout_s) or 1000.0
            self.emit(SessionWarning("irregular_rate", f"tracker {tracker.stream.name} publishes no nominal rate; "
                                     f"detecting fixations at the {rate:.0f} Hz its time stamps show"))
        detector = OnlineDetector(protocol.screen, rate, method=cfg.detection, drop_disordered=True)
        live = LivePipeline(protocol, acq.buffer, detector, fix_out, pred_out, self.predictor, cfg.participant,
                            self.emit)
        markers = _Markers(mk_out, lambda m, t: self._on_marker(live, m, t), lsl_clock)
        self._markers = markers
        self._validation_inputs = (markers, acq, files)
        table = TrialsTable(files.trials_tsv)
        outcomes: list[TrialOutcome] = []
        agree: list[bool] = []
        self.recorder = recorder

        answered: list[tuple[str, Any, str]] = []

        def on_trial(outcome: TrialOutcome) -> None:
            probs = live.final_prediction(outcome.number)
            predicted = None if probs is None else most_probable(probs)
            if predicted is not None and outcome.response in ANSWERS and not outcome.practice:
                agree.append(predicted == outcome.response)
            trial = protocol.all_trials[outcome.number - 1]
            state = live.states.get(outcome.number)
            table.append({**asdict(outcome), "practice": int(outcome.practice),
                          "rt_ms": None if outcome.rt_s is None else f"{outcome.rt_s * 1000:.1f}",
                          "expected": trial.expected, "p_yes": None if probs is None else probs[0],
                          "p_no": None if probs is None else probs[1], "p_unclear": None if probs is None else probs[2],
                          "n_fixations": 0 if state is None else len(state.fixations)})
            outcomes.append(outcome)
            self.emit(TrialFinished(outcome, predicted, sum(agree) / len(agree) if agree else None))
            if self.predictor is not None and outcome.response in ANSWERS and state is not None:
                # few-shot personalisation: refitted after every answered trial, practice and main alike; a
                # trial's own prediction was made before its answer, so the answer only shapes later trials
                answered.append((state.trial.trial_id, state.fixations, outcome.response))
                bias = self.predictor.personalise(cfg.participant, answered)
                self.emit(PersonalisationUpdated(cfg.participant, len(answered),
                                                 (float(bias[0]), float(bias[1]), float(bias[2]))))

        timer = None
        if cfg.duration_s is not None:
            timer = threading.Timer(cfg.duration_s, self.stop_event.set)
            timer.daemon = True
            timer.start()
        status = SessionStatus.COMPLETE
        self.emit(SessionStarted(files.folder, files.xdf, len(protocol.all_trials), tracker.stream.name,
                                 getattr(self.predictor, "provider", None)))
        live.start()
        disk_watch = threading.Thread(target=self._watch_disk, args=(files.folder,), daemon=True)
        disk_watch.start()
        tracker.wait_until_ready(cfg.tracker_timeout_s)  # a simulated tracker follows the markers from the first
        try:
            markers.push(f"SESSION_START {protocol.name}", markers.clock())
            markers.push(display_coords_marker(protocol.screen.width_px, protocol.screen.height_px), markers.clock())
            self.presenter.run(protocol, markers, self.stop_event, on_trial)
            if recorder.error:
                status = SessionStatus.DISK_FULL
            elif self.stop_event.is_set() and len(outcomes) < len(protocol.all_trials):
                status = SessionStatus.ABORTED
            markers.push("SESSION_END", markers.clock())
            time.sleep(0.3)  # let the last markers and samples reach the recorder
        except BaseException as exc:
            status = SessionStatus.ABORTED if isinstance(exc, KeyboardInterrupt) else SessionStatus.FAILED
            raise
        finally:
            self.stop_event.set()
            if timer is not None:
                timer.cancel()
            # every part is stopped even if one fails, so the recording is always closed properly
            stop_errors: list[BaseException] = []
            for stop in (live.stop, acq.stop, recorder.stop, mk_out.close, fix_out.close, pred_out.close, self.close):
                try:
                    stop()
                except Exception as exc:  # noqa: BLE001 - collected and re-raised below
                    log.error("stopping the session: %s", exc)
                    stop_errors.append(exc)
            if recorder.error:
                status = SessionStatus.DISK_FULL
            c = acq.counters
            try:
                self._update_meta(
                    files, final=True, status=status, ended_utc=_now(), gaps=[[float(a), float(b)] for a, b in acq.gaps],
                    counters=CountersRecord(c.received, c.lost, c.invalid, c.gaps),
                    n_trials_done=len(outcomes), agreement=sum(agree) / len(agree) if agree else None,
                    n_fixations=live.n_fixations, warnings=list(self._warnings),
                    recorder=RecorderRecord(recorder.error, {s.name: s.count for s in recorder.stats}))
            except OSError as exc:
                log.error("could not update %s: %s", files.session_json, exc)
            release_reserve(files.session_json)
        if stop_errors:
            raise stop_errors[0]
        plots: tuple[TrialPlots, ...] = ()
        note = ""
        if cfg.plots and status is not SessionStatus.DISK_FULL:
            plots, note = self._plotter.write(files.folder / "plots", files.stem, protocol.screen,
                                              protocol.display.background)
        self.emit(SessionEnded(files.folder, status, self._meta, plots, note))
        if status is SessionStatus.DISK_FULL:
            raise RecordingError(f"{recorder.error}; session folder: {files.folder}")
        return SessionResult(files.folder, files, status, self._meta, outcomes)

    def close(self) -> None:
        """Stop what connecting the tracker started (the simulator, a replay); idempotent."""
        if self.tracker is not None:
            self.tracker.close()

    # -- helpers ------------------------------------------------------------------------------------
    def _on_marker(self, live: Any, marker: str, timestamp: float) -> None:
        live.on_marker(marker, timestamp)
        m = parse_marker(marker)
        current = max(live.states, default=0)
        if m.kind in SCREENS:
            self.emit(ScreenShown(0 if m.kind.startswith("VALIDATION") else current, SCREENS[m.kind]))
        elif m.kind == "VALIDATION_TARGET":
            self.emit(ScreenShown(0, "validation_target", (float(m.args[1]), float(m.args[2]))))
        elif m.kind == "TRIALID" and m.args and m.args[0].isdigit() and int(m.args[0]) in live.states:
            n = int(m.args[0])
            trial = live.trials[n]
            self.emit(TrialStarted(n, trial.trial_id, trial.practice, live.states[n].layout, trial.image))
        if m.kind == "VALIDATION_END":
            # the gaze of the last target arrives a little later than its marker
            timer = threading.Timer(0.5, self._measure_validation)
            timer.daemon = True
            timer.start()

    def _measure_validation(self) -> None:
        from app.core.validation import latest_validation

        markers, acq, files = self._validation_inputs
        assert self.protocol is not None
        result = latest_validation(list(markers.log), acq.buffer.snapshot(), self.protocol.screen)
        if result is None:
            return
        figures = result.to_dict()
        self._update_meta(files, validation=figures)
        self.emit(ValidationMeasured(figures, result.summary()))

    def _update_meta(self, files: RunFiles, final: bool = False, **changes: Any) -> None:
        """Apply ``changes`` to the run's metadata and rewrite session.json (one writer at a time); the ``final``
        write may use the disk space reserved at the start (a full disk still gets the final status)."""
        with self._meta_lock:
            assert self._meta is not None
            self._meta = replace(self._meta, **changes)
            write_meta(files.session_json, self._meta, use_reserve=final)

    def _on_gap(self, start: float, end: float) -> None:
        if self._markers is not None:
            self._markers.push("GAP_START", start)
            self._markers.push("GAP_END", end)
        self.emit(SessionWarning("stream_back", f"tracker stream back after a gap of {end - start:.1f} s "
                                 "(marked in the recording)"))

    def _on_stream_changed(self, old: Any, new: Any, problem: str | None) -> None:
        """The tracker came back as another outlet (acquisition worker thread): record it and say so."""
        from app.session.tracker_watch import tracker_returned

        message, record = tracker_returned(old, new, problem, getattr(self, "recorder", None),
                                           self.acquisition.channel_map)
        self.emit(SessionWarning("stream_changed", message))
        self._append_meta("tracker_changes", record)

    def _on_quality_warning(self, warning: Any) -> None:
        self.emit(SessionWarning(warning.kind, warning.message))
        self._append_meta("quality_warnings", warning.to_record())

    def _append_meta(self, key: str, record: dict[str, Any]) -> None:
        files = getattr(self, "_files", None)
        if files is None or self._meta is None:
            return
        try:
            with self._meta_lock:
                extended: dict[str, Any] = {key: [*(getattr(self._meta, key) or []), record]}
                self._meta = replace(self._meta, **extended)
                write_meta(files.session_json, self._meta)
        except OSError as exc:
            log.error("could not update %s: %s", files.session_json, exc)

    def _on_disk_error(self, message: str) -> None:
        self.emit(SessionWarning("disk_full", message))
        self.stop_event.set()

    def _watch_disk(self, folder: Path) -> None:
        warned = False
        while not self.stop_event.wait(2.0):
            free = shutil.disk_usage(folder).free
            if free < LOW_DISK_BYTES and not warned:
                self.emit(SessionWarning("disk_low", f"low disk space: {free / 2**20:.0f} MiB left in {folder}"))
                warned = True

    def _metadata(self, files: RunFiles, acq: Any) -> RunMetadata:
        cfg, p = self.config, self.protocol
        assert p is not None and self.tracker is not None
        model = None
        if cfg.model is not None and Path(cfg.model).is_file():
            model = ModelRecord(str(cfg.model), sha256_file(Path(cfg.model)), getattr(self.predictor, "provider", None))
        s = acq.stream
        return RunMetadata(
            app_version=__version__, participant=cfg.participant, session=cfg.session, task=cfg.task,
            run=int(files.stem.rsplit("-", 1)[1]), protocol="protocol.toml", protocol_name=p.name,
            protocol_sha256=sha256_file(Path(cfg.protocol_path)), screen=p.screen,
            tracker=TrackerRecord(kind=self.tracker.spec, name=s.name, source_id=s.source_id, rate=float(s.rate_hz),
                                  channels=list(s.labels), hostname=getattr(s, "hostname", ""),
                                  mapping=cfg.channels, preset=cfg.preset,
                                  channel_map=acq.channel_map.to_record()),
            started_utc=_now(), ended_utc=None, status=SessionStatus.RECORDING, model=model, validation=None,
            files=FilesRecord(files.xdf.name, files.trials_tsv.name))


def _own_stream(find_streams: Any, source_id: str, timeout_s: float, tries: int = 3) -> Any:
    """The session's own outlet as LSL resolves it (the recorder subscribes to it like any other stream).

    It lives in this process, so it answers at once on a quiet machine; on a loaded one a resolve can miss
    it, so it is asked again before the session gives up with a clear line (never an IndexError).
    """
    for _ in range(tries):
        found = find_streams(source_id=source_id, timeout=timeout_s)
        if found:
            return found[0]
    raise RecordingError(f"the session's own LSL stream {source_id!r} could not be resolved on this machine "
                         f"within {tries} x {timeout_s:g} s (is the LSL configuration blocking loopback?)")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
