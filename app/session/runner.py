"""Run one recording session: tracker -> acquisition -> recorder + live pipeline, presenter in front.

Everything is checked before a file is written (protocol, layouts, model, tracker stream, output folder);
then the run's recording holds the tracker's gaze stream and the session's markers, fixations and predictions
streams, the trials table grows one row per trial, and ``session.json`` is rewritten atomically at start and
end. A disk that fills up or a tracker that vanishes never loses what was already written.

The session builds nothing concrete itself: the tracker comes in as a :class:`app.core.ports.TrackerConnector`,
and the outlets, recorder, acquisition, online detector and live model as one :class:`app.core.ports.SessionParts`
record of factories (:func:`app.session.lsl_parts.lsl_parts` by default; a test passes fakes). This module is
the start/stop orchestration; the run folder's bookkeeping is :mod:`app.session.run_record`, the presenter's
markers :mod:`app.session.marker_sink`, each finished trial :mod:`app.session.trial_book`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.errors import RecordingError
from app.core.gaze_quality import QualityWarning
from app.core.layout import layout_trial
from app.core.markers import display_coords_marker
from app.core.ports import (
    AcquisitionHooks,
    SessionAcquisition,
    SessionModel,
    SessionOutlet,
    SessionParts,
    SessionRecorder,
    TrackerConnection,
    TrackerConnector,
)
from app.core.presenting import Presenter
from app.core.protocol import Protocol, load_protocol
from app.core.run_metadata import CountersRecord, RecorderRecord, SessionStatus
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
from app.runfolder.files import RunFiles, check_writable
from app.runfolder.plots import TrialPlots
from app.session.config import MAX_DURATION_S, MAX_TRACKER_TIMEOUT_S, SessionConfig, SessionResult
from app.session.live import LivePipeline
from app.session.marker_sink import SessionMarkers
from app.session.run_record import RunRecord, open_run_folder, start_metadata, watch_disk
from app.session.trial_book import TrialBook
from app.session.trial_plots import TrialPlotter
from app.session.updates import SessionEnded, SessionEvent, SessionStarted, SessionWarning, ValidationMeasured

__all__ = ["MAX_DURATION_S", "MAX_TRACKER_TIMEOUT_S", "Session", "SessionConfig", "SessionResult"]

log = logging.getLogger(__name__)


@dataclass
class _Running:
    """The parts of a run between its start and its stop."""

    files: RunFiles
    record: RunRecord
    outlets: tuple[SessionOutlet, SessionOutlet, SessionOutlet]  # markers, fixations, predictions
    recorder: SessionRecorder
    acq: SessionAcquisition
    live: LivePipeline
    markers: SessionMarkers
    book: TrialBook


class Session:
    """One run. ``prepare()`` checks everything and writes nothing; ``run()`` records.

    ``tracker`` connects the gaze stream once the protocol is loaded (the entry layer builds it, e.g.
    :class:`app.acquisition.tracker_spec.LslTrackerConnector` of ``--tracker sim``); ``parts`` builds the rest
    (None: :func:`app.session.lsl_parts.lsl_parts`).
    """

    def __init__(self, config: SessionConfig, presenter: Presenter,
                 listener: Callable[[SessionEvent], None] | None = None, *, tracker: TrackerConnector,
                 parts: SessionParts | None = None) -> None:
        if parts is None:
            from app.session.lsl_parts import lsl_parts

            parts = lsl_parts()
        self.config = config
        self.presenter = presenter
        self.listener = listener
        self.connector = tracker
        self.parts = parts
        self.stop_event = threading.Event()
        self.protocol: Protocol | None = None
        self.predictor: SessionModel | None = None
        self.tracker: TrackerConnection | None = None
        self.markers_source_id = f"povlab-{uuid.uuid4().hex[:10]}-markers"
        self.acquisition: SessionAcquisition | None = None  # the operator window polls .buffer and .counters
        self.recorder: SessionRecorder | None = None  # once it records
        self._record: RunRecord | None = None  # once the run folder exists
        self._markers: SessionMarkers | None = None
        self._plotter = TrialPlotter()
        self._warnings: list[str] = []

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
            self.predictor = self.parts.load_model(cfg.model, self.protocol)
        self.close()  # a second prepare() replaces the tracker of the first
        self.tracker = self.connector.connect(self.protocol, self.markers_source_id)
        replaying = self.tracker.channels_mapped
        # channels are mapped now: a stream with the wrong channels fails before anything is written
        self.acquisition = self.parts.open_acquisition(
            self.tracker.stream, screen_px=(self.protocol.screen.width_px, self.protocol.screen.height_px),
            # a replay publishes a stream its metadata maps: --channels/--preset were applied to the file
            mapping=None if replaying else cfg.channels, preset=None if replaying else cfg.preset,
            hooks=AcquisitionHooks(
                on_gap=self._on_gap,
                on_gap_start=lambda t: self.emit(SessionWarning(
                    "stream_lost", f"tracker stream lost at {t:.3f} s; waiting for it to come back")),
                on_stream_changed=self._on_stream_changed, on_warning=self._on_quality_warning))
        check_writable(cfg.out, cfg.participant, cfg.session)  # refuses an unwritable folder, creates nothing

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> SessionResult:
        if self.protocol is None:
            self.prepare()
        assert self.protocol is not None and self.tracker is not None
        cfg, protocol, tracker = self.config, self.protocol, self.tracker
        r = self._start()
        timer = None
        if cfg.duration_s is not None:
            timer = threading.Timer(cfg.duration_s, self.stop_event.set)
            timer.daemon = True
            timer.start()
        status = SessionStatus.COMPLETE
        self.emit(SessionStarted(r.files.folder, r.files.xdf, len(protocol.all_trials), tracker.stream.name,
                                 None if self.predictor is None else self.predictor.provider))
        r.live.start()
        disk_watch = threading.Thread(target=watch_disk, args=(r.files.folder, self.stop_event, self.emit),
                                      daemon=True)
        disk_watch.start()
        tracker.wait_until_ready(cfg.tracker_timeout_s)  # a simulated tracker follows the markers from the first
        try:
            markers = r.markers
            markers.push(f"SESSION_START {protocol.name}", markers.clock())
            markers.push(display_coords_marker(protocol.screen.width_px, protocol.screen.height_px), markers.clock())
            self.presenter.run(protocol, markers, self.stop_event, r.book.on_trial)
            if r.recorder.error:
                status = SessionStatus.DISK_FULL
            elif self.stop_event.is_set() and len(r.book.outcomes) < len(protocol.all_trials):
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
            stop_errors = self._stop(r)
            if r.recorder.error:
                status = SessionStatus.DISK_FULL
            c = r.acq.counters
            r.record.finish(
                status=status, gaps=[[float(a), float(b)] for a, b in r.acq.gaps],
                counters=CountersRecord(c.received, c.lost, c.invalid, c.gaps),
                n_trials_done=len(r.book.outcomes), agreement=r.book.agreement, n_fixations=r.live.n_fixations,
                warnings=list(self._warnings),
                recorder=RecorderRecord(r.recorder.error, {s.name: s.count for s in r.recorder.stats}))
        if stop_errors:
            raise stop_errors[0]
        plots: tuple[TrialPlots, ...] = ()
        note = ""
        if cfg.plots and status is not SessionStatus.DISK_FULL:
            plots, note = self._plotter.write(r.files.folder / "plots", r.files.stem, protocol.screen,
                                              protocol.display.background)
        meta = r.record.meta
        self.emit(SessionEnded(r.files.folder, status, meta, plots, note))
        if status is SessionStatus.DISK_FULL:
            raise RecordingError(f"{r.recorder.error}; session folder: {r.files.folder}")
        return SessionResult(r.files.folder, r.files, status, meta, r.book.outcomes)

    def _start(self) -> _Running:
        """The run folder, the session's outlets, the recorder (started), the acquisition (started), the live
        pipeline (not yet started) and the presenter's marker sink."""
        assert self.protocol is not None and self.tracker is not None and self.acquisition is not None
        cfg, protocol, tracker, acq, parts = self.config, self.protocol, self.tracker, self.acquisition, self.parts
        files = open_run_folder(cfg, protocol)
        sid = self.markers_source_id.removesuffix("-markers")
        own = (self.markers_source_id, f"{sid}-fixations", f"{sid}-predictions")
        undo: list[Callable[[], None]] = []  # what has been opened or started so far, to close if the start fails
        try:
            opened = []
            for spec, source_id in zip((MARKERS, FIXATIONS, PREDICTIONS), own, strict=True):
                opened.append(parts.open_outlet(spec, source_id))
                undo.append(opened[-1].close)
            outlets = (opened[0], opened[1], opened[2])
            recorder = parts.open_recorder(files.xdf, tracker.stream, own, cfg.tracker_timeout_s,
                                           self._on_disk_error)
            record = RunRecord(files, start_metadata(cfg, protocol, files, tracker.spec, acq,
                                                     None if self.predictor is None else self.predictor.provider))
            self._record = record
            record.begin()
            undo.append(lambda: record.finish(status=SessionStatus.FAILED))
            recorder.start()
            undo.append(recorder.stop)
            self.recorder = recorder
            acq.start()
            undo.append(acq.stop)
            rate = acq.rate_hz
            if rate <= 0:  # a vendor app that publishes no nominal rate: the detector takes its time stamps' rate
                rate = acq.measured_rate_hz(cfg.tracker_timeout_s) or 1000.0
                self.emit(SessionWarning("irregular_rate", f"tracker {tracker.stream.name} publishes no nominal "
                                         f"rate; detecting fixations at the {rate:.0f} Hz its time stamps show"))
            detector = parts.make_detector(protocol.screen, rate, cfg.detection)
            live = LivePipeline(protocol, acq.buffer, detector, outlets[1], outlets[2], self.predictor,
                                cfg.participant, self.emit)
            markers = SessionMarkers(outlets[0], live, self.emit, parts.clock, self._validation_ended)
            self._markers = markers
            record.open_trials()
            book = TrialBook(protocol, live, record, self.predictor, cfg.participant, self.emit)
        except BaseException:
            # a start that fails half-way closes what it opened (newest first: the recording is closed properly,
            # then session.json says failed, then the outlets) and raises the first error
            for step in reversed(undo):
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - logged; the start's own error is the one raised
                    log.error("closing a session that failed to start: %s", exc)
            raise
        return _Running(files, record, outlets, recorder, acq, live, markers, book)

    def _stop(self, r: _Running) -> list[BaseException]:
        """Stop every part even if one fails, so the recording is always closed properly; returns what failed."""
        stop_errors: list[BaseException] = []
        for stop in (r.live.stop, r.acq.stop, r.recorder.stop, *(o.close for o in r.outlets), self.close):
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - collected and re-raised by run()
                log.error("stopping the session: %s", exc)
                stop_errors.append(exc)
        return stop_errors

    def close(self) -> None:
        """Stop what connecting the tracker started (the simulator, a replay); idempotent."""
        if self.tracker is not None:
            self.tracker.close()

    # -- what the parts report (their threads) ---------------------------------------------------
    def _validation_ended(self) -> None:
        # the gaze of the last target arrives a little later than its marker
        timer = threading.Timer(0.5, self._measure_validation)
        timer.daemon = True
        timer.start()

    def _measure_validation(self) -> None:
        from app.core.validation import latest_validation

        markers, acq, record = self._markers, self.acquisition, self._record
        assert self.protocol is not None and markers is not None and acq is not None and record is not None
        result = latest_validation(list(markers.log), acq.buffer.snapshot(), self.protocol.screen)
        if result is None:
            return
        figures = result.to_dict()
        record.update(validation=figures)
        self.emit(ValidationMeasured(figures, result.summary()))

    def _on_gap(self, start: float, end: float) -> None:
        if self._markers is not None:
            self._markers.push("GAP_START", start)
            self._markers.push("GAP_END", end)
        self.emit(SessionWarning("stream_back", f"tracker stream back after a gap of {end - start:.1f} s "
                                 "(marked in the recording)"))

    def _on_stream_changed(self, old: Any, new: Any, problem: str | None) -> None:
        """The tracker came back as another outlet (acquisition worker thread): record it and say so."""
        from app.session.tracker_watch import tracker_returned

        assert self.acquisition is not None
        message, record = tracker_returned(old, new, problem, self.recorder, self.acquisition.channel_map)
        self.emit(SessionWarning("stream_changed", message))
        if self._record is not None:
            self._record.append("tracker_changes", record)

    def _on_quality_warning(self, warning: QualityWarning) -> None:
        self.emit(SessionWarning(warning.kind, warning.message))
        if self._record is not None:
            self._record.append("quality_warnings", warning.to_record())

    def _on_disk_error(self, message: str) -> None:
        self.emit(SessionWarning("disk_full", message))
        self.stop_event.set()
