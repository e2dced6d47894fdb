"""Record LSL streams into one XDF file, as LabRecorder does, crash-safe.

One writer thread pulls every inlet and appends Samples chunks; a second thread measures
each stream's clock offset every few seconds (``time_correction``) and hands it to the
writer, so the file holds raw time stamps plus ClockOffset chunks, like LabRecorder's.
The file is flushed to the operating system every ``flush_interval`` seconds: after a
``kill -9`` pyxdf loads everything up to about the last flush.

Why not the ``labrecorder`` package? Version 1.0.0rc0 (the PyPI wheel) bundles liblsl 1.17.5, which
cannot subscribe to pylsl 1.18 outlets whose TCP and UDP ports differ ("Connection refused" while
subscribing) -- every outlet but the last that a process creates. A session publishes three. See
README, "Architecture".

If the disk fills up, the recorder stops writing, closes the file (what was written stays
readable) and reports ``error``; the session stops cleanly and says so.
"""

from __future__ import annotations

import errno
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import RecordingError
from app.formats.xdf_writer import XdfWriter

log = logging.getLogger(__name__)

FORMATS = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}


@dataclass
class StreamStats:
    name: str
    channel_format: str
    first: float = float("nan")
    last: float = float("nan")
    count: int = 0
    offsets: list[tuple[float, float]] = field(default_factory=list)


class XdfRecorder:
    """Record the given pylsl ``StreamInfo`` objects into ``path`` until :meth:`stop`."""

    def __init__(self, path: Path, infos: list[Any], flush_interval: float = 0.25,
                 offset_interval: float = 5.0, on_error: Callable[[str], None] | None = None,
                 open_timeout: float = 5.0) -> None:
        if not infos:
            raise RecordingError("nothing to record: no streams given")
        self.path = Path(path)
        self._infos = infos
        self.flush_interval = flush_interval
        self.offset_interval = offset_interval
        self.on_error = on_error
        self.open_timeout = open_timeout
        self.error: str | None = None
        self.stats: list[StreamStats] = []
        self._stop = threading.Event()
        self._offsets: queue.Queue[tuple[int, float, float]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._inlets: list[Any] = []
        self._writer: XdfWriter | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        import pylsl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = XdfWriter(self.path)
        try:
            for sid, info in enumerate(self._infos, start=1):
                inlet = pylsl.StreamInlet(info, max_buflen=360, recover=True)
                full = inlet.info(timeout=self.open_timeout)
                inlet.open_stream(timeout=self.open_timeout)
                fmt = FORMATS.get(full.channel_format(), "double64")
                self._writer.stream_header(sid, full.as_xml())
                self._inlets.append(inlet)
                self.stats.append(StreamStats(full.name(), fmt))
            self._writer.flush()
        except pylsl.util.TimeoutError as exc:  # type: ignore[attr-defined]
            self._writer.close()
            raise RecordingError(f"{self.path}: a stream did not answer within {self.open_timeout:g} s") from exc
        except OSError as exc:
            self._writer.close()
            raise RecordingError(f"{self.path}: cannot write the recording ({exc.strerror})") from exc
        for target, name in ((self._write_loop, "xdf-writer"), (self._offset_loop, "xdf-offsets")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        """Drain the inlets, write clock offsets and footers, close the file."""
        self._stop.set()
        for th in self._threads:
            th.join(timeout=10)
        self._threads.clear()
        w = self._writer
        if w is None:
            return
        if self.error is None:
            try:
                self._drain_offsets(w)
                for sid, st in enumerate(self.stats, start=1):
                    w.stream_footer(sid, st.first, st.last, st.count, st.offsets)
                w.boundary()
            except OSError as exc:
                self._fail(exc)
        try:
            w.close()
        except OSError as exc:
            self._fail(exc)
        for inlet in self._inlets:
            inlet.close_stream()
        self._writer = None

    # -- threads ------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        w = self._writer
        assert w is not None
        last_flush = last_boundary = time.monotonic()
        try:
            while True:
                stopping = self._stop.is_set()
                got = self._pull_all(w)
                self._drain_offsets(w)
                now = time.monotonic()
                if now - last_boundary > 10.0:
                    w.boundary()
                    last_boundary = now
                if now - last_flush >= self.flush_interval:
                    w.flush()
                    last_flush = now
                if stopping and not got:
                    break
                if not got:
                    self._stop.wait(0.01)
        except OSError as exc:
            self._fail(exc)

    def _pull_all(self, w: XdfWriter) -> bool:
        got = False
        for sid, (inlet, st) in enumerate(zip(self._inlets, self.stats, strict=True), start=1):
            if st.channel_format == "string":
                data, ts = inlet.pull_chunk(timeout=0.0, max_samples=4096)
            else:
                data, ts = inlet.pull_chunk(timeout=0.0, max_samples=8192, as_numpy=True)
            n = len(ts)
            if n == 0:
                continue
            got = True
            w.samples(sid, st.channel_format, np.asarray(ts), data)
            if st.count == 0:
                st.first = float(ts[0])
            st.last = float(ts[-1])
            st.count += n
        return got

    def _offset_loop(self) -> None:
        import pylsl

        while True:
            for sid, inlet in enumerate(self._inlets, start=1):
                try:
                    offset = inlet.time_correction(timeout=2.0)
                    self._offsets.put((sid, pylsl.local_clock() - offset, offset))
                except Exception as exc:  # noqa: BLE001 - a lost stream keeps its last offset
                    log.debug("clock offset of stream %d not measured: %s", sid, exc)
            if self._stop.wait(self.offset_interval):
                return

    def _drain_offsets(self, w: XdfWriter) -> None:
        while True:
            try:
                sid, t, off = self._offsets.get_nowait()
            except queue.Empty:
                return
            w.clock_offset(sid, t, off)
            self.stats[sid - 1].offsets.append((t, off))

    def _fail(self, exc: OSError) -> None:
        if self.error is not None:
            return
        if exc.errno == errno.ENOSPC or exc.errno == errno.EFBIG:
            self.error = f"disk full while writing {self.path}: recording stopped, what was written is kept"
        else:
            self.error = f"cannot write {self.path} ({exc.strerror}): recording stopped, what was written is kept"
        log.error(self.error)
        self._stop.set()
        try:
            if self._writer is not None:
                self._writer.close()
        except OSError:
            pass  # the file is closed as far as it can be; the error is already reported
        if self.on_error is not None:
            self.on_error(self.error)
