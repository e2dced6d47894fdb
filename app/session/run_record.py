"""The run folder of a recording session, kept up to date while it records (see :mod:`app.runfolder.files`).

:func:`open_run_folder` takes the next run number and copies the protocol and its files; :class:`RunRecord`
owns ``session.json`` (one :class:`RunMetadata`, rewritten atomically by one writer at a time: the run, the
validation timer and the acquisition's worker all change it) and the trials table; :func:`watch_disk` warns
when the disk runs low. The final write may use the space reserved at the start, so a full disk still
gets the final status.
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import __version__
from app.core.hashing import sha256_file
from app.core.ports import SessionAcquisition
from app.core.protocol import Protocol
from app.core.run_metadata import FilesRecord, ModelRecord, RunMetadata, SessionStatus, TrackerRecord
from app.runfolder.files import (
    RunFiles,
    TrialsTable,
    copy_protocol,
    next_run,
    release_reserve,
    reserve_space,
    write_meta,
)
from app.session.config import SessionConfig
from app.session.updates import SessionWarning

log = logging.getLogger(__name__)
LOW_DISK_BYTES = 500 * 2**20


def open_run_folder(cfg: SessionConfig, protocol: Protocol) -> RunFiles:
    """The next run's files, with the protocol, its stimuli and its font copied in (nothing else written yet)."""
    files = next_run(cfg.out, cfg.participant, cfg.session, cfg.task)
    copy_protocol(cfg.protocol_path, sorted({t.image for t in protocol.all_trials} | {protocol.style.font}),
                  files.folder)
    return files


def start_metadata(cfg: SessionConfig, protocol: Protocol, files: RunFiles, tracker_spec: str,
                   acq: SessionAcquisition, provider: str | None) -> RunMetadata:
    """``session.json`` as it is written when the recording starts (status ``recording``)."""
    model = None
    if cfg.model is not None and Path(cfg.model).is_file():
        model = ModelRecord(str(cfg.model), sha256_file(Path(cfg.model)), provider)
    s = acq.stream
    return RunMetadata(
        app_version=__version__, participant=cfg.participant, session=cfg.session, task=cfg.task,
        run=int(files.stem.rsplit("-", 1)[1]), protocol="protocol.toml", protocol_name=protocol.name,
        protocol_sha256=sha256_file(Path(cfg.protocol_path)), screen=protocol.screen,
        tracker=TrackerRecord(kind=tracker_spec, name=s.name, source_id=s.source_id, rate=float(s.rate_hz),
                              channels=list(s.labels), hostname=getattr(s, "hostname", ""),
                              mapping=cfg.channels, preset=cfg.preset,
                              channel_map=acq.channel_map.to_record()),
        started_utc=now_utc(), ended_utc=None, status=SessionStatus.RECORDING, model=model, validation=None,
        files=FilesRecord(files.xdf.name, files.trials_tsv.name))


class RunRecord:
    """``session.json`` and the trials table of one run while it records."""

    def __init__(self, files: RunFiles, meta: RunMetadata) -> None:
        self.files = files
        self._meta = meta
        self._lock = threading.Lock()
        self._table: TrialsTable | None = None

    @property
    def meta(self) -> RunMetadata:
        with self._lock:
            return self._meta

    def begin(self) -> None:
        """Reserve the space of the final write, then write ``session.json`` as the run starts."""
        reserve_space(self.files.session_json)
        self.update()

    def update(self, final: bool = False, **changes: Any) -> None:
        """Apply ``changes`` to the run's metadata and rewrite session.json; the ``final`` write may use the disk
        space reserved at the start."""
        with self._lock:
            self._meta = replace(self._meta, **changes)
            write_meta(self.files.session_json, self._meta, use_reserve=final)

    def append(self, key: str, record: dict[str, Any]) -> None:
        """Add ``record`` to the list ``key`` of session.json (tracker changes, quality warnings); a write that
        fails is logged (it comes from a worker thread that must go on)."""
        try:
            with self._lock:
                extended: dict[str, Any] = {key: [*(getattr(self._meta, key) or []), record]}
                self._meta = replace(self._meta, **extended)
                write_meta(self.files.session_json, self._meta)
        except OSError as exc:
            log.error("could not update %s: %s", self.files.session_json, exc)

    def open_trials(self) -> None:
        """Create the trials table (its header) before the first trial."""
        self._table = TrialsTable(self.files.trials_tsv)

    def add_trial(self, row: dict[str, Any]) -> None:
        assert self._table is not None, "open_trials() first"
        self._table.append(row)

    def finish(self, **changes: Any) -> None:
        """The final write (status, counters, ...) into the reserved space, then the reserve is freed; a write
        that fails is logged, never raised (the recording is already closed)."""
        try:
            self.update(final=True, ended_utc=now_utc(), **changes)
        except OSError as exc:
            log.error("could not update %s: %s", self.files.session_json, exc)
        release_reserve(self.files.session_json)


def watch_disk(folder: Path, stop: threading.Event, emit: Callable[[SessionWarning], None],
               period_s: float = 2.0) -> None:
    """Until ``stop``: warn once when the disk of ``folder`` has less than :data:`LOW_DISK_BYTES` free."""
    warned = False
    while not stop.wait(period_s):
        free = shutil.disk_usage(folder).free
        if free < LOW_DISK_BYTES and not warned:
            emit(SessionWarning("disk_low", f"low disk space: {free / 2**20:.0f} MiB left in {folder}"))
            warned = True


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
