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

A stream that comes back under another outlet (a tracker app restarted with another source_id or
channel layout) is added to the same file as a new stream with :meth:`XdfRecorder.switch_stream`; the
old one is closed (its footer is still written), so the file holds both, each with its own header.

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
        self._full: list[Any] = []
        self._retired: set[int] = set()  # stream ids (1-based) no longer pulled (switched away from)
        self._added: queue.Queue[tuple[Any, Any]] = queue.Queue()  # (inlet, full info) for the writer to add
        self._writer: XdfWriter | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def connect(self, skip_unanswered: bool = False) -> list[str]:
        """Open an inlet on every stream at once (at most ``open_timeout`` in all); nothing is written yet.

        A stream that does not answer fails the recording, or with ``skip_unanswered`` is left out
        (its name is returned; at least one stream must answer). Called by :meth:`start` if needed.
        """
        import pylsl

        results: list[Any] = [None] * len(self._infos)

        def open_one(k: int, info: Any) -> None:
            try:
                inlet = pylsl.StreamInlet(info, max_buflen=360, recover=True)
                full = inlet.info(timeout=self.open_timeout)
                inlet.open_stream(timeout=self.open_timeout)
                results[k] = (inlet, full)
            except Exception as exc:  # noqa: BLE001 - pylsl's TimeoutError/RuntimeError: the stream is gone
                results[k] = exc

        threads = [threading.Thread(target=open_one, args=(k, info), name="xdf-open", daemon=True)
                   for k, info in enumerate(self._infos)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        left_out = [self._infos[k].name() for k, r in enumerate(results) if not isinstance(r, tuple)]
        opened = [r for r in results if isinstance(r, tuple)]
        if left_out and (not skip_unanswered or not opened):
            for inlet, _ in opened:
                inlet.close_stream()
            raise RecordingError(f"{self.path}: stream(s) {', '.join(left_out)} did not answer within "
                                 f"{self.open_timeout:g} s")
        self._inlets = [inlet for inlet, _ in opened]
        self._full = [full for _, full in opened]
        return left_out

    def start(self) -> None:
        """Create the file (never overwriting), write the stream headers, start recording."""
        if not self._inlets:
            self.connect()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.disconnect()
            raise RecordingError(f"{self.path}: cannot create its folder ({exc.strerror})") from exc
        try:
            self._writer = XdfWriter(self.path)
        except RecordingError:
            self.disconnect()
            raise
        try:
            for sid, full in enumerate(self._full, start=1):
                self._writer.stream_header(sid, full.as_xml())
                self.stats.append(StreamStats(self._unique_name(full.name()),
                                              FORMATS.get(full.channel_format(), "double64")))
            self._writer.flush()
        except OSError as exc:
            self._writer.close()
            self.disconnect()
            raise RecordingError(f"{self.path}: cannot write the recording ({exc.strerror})") from exc
        for target, name in ((self._write_loop, "xdf-writer"), (self._offset_loop, "xdf-offsets")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def disconnect(self) -> None:
        """Close the inlets opened by :meth:`connect` (a recording that will not start)."""
        for inlet in self._inlets:
            inlet.close_stream()
        self._inlets = []

    def _unique_name(self, name: str) -> str:
        """Stats are reported per name: a second outlet of one tracker is ``NAME #2``."""
        taken, out, k = {st.name for st in self.stats}, name, 2
        while out in taken:
            out, k = f"{name} #{k}", k + 1
        return out

    def _add(self, w: XdfWriter, inlet: Any, full: Any) -> None:
        w.stream_header(len(self._inlets) + 1, full.as_xml())
        self.stats.append(StreamStats(self._unique_name(full.name()), FORMATS.get(full.channel_format(), "double64")))
        self._full.append(full)
        self._inlets.append(inlet)

    def switch_stream(self, old_uid: str, info: Any) -> None:
        """Stop recording the stream ``old_uid`` and record ``info`` (a resolved StreamInfo) from now on."""
        import pylsl

        if self._writer is None:
            raise RecordingError(f"{self.path}: the recording is not running")
        inlet = pylsl.StreamInlet(info, max_buflen=360, recover=True)
        try:
            full = inlet.info(timeout=self.open_timeout)
            inlet.open_stream(timeout=self.open_timeout)
        except Exception as exc:  # pylsl's TimeoutError/LostError: the stream went away again
            inlet.close_stream()
            raise RecordingError(f"stream {info.name()!r} did not answer within {self.open_timeout:g} s") from exc
        uids = [f.uid() for f in self._full]
        if old_uid in uids:
            self._retired.add(uids.index(old_uid) + 1)
        self._added.put((inlet, full))

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
        self._drain_added()
        for inlet in self._inlets:
            inlet.close_stream()
        self._writer = None

    def _drain_added(self) -> None:
        """Inlets handed over after the writer stopped are closed, not recorded."""
        while True:
            try:
                inlet, _ = self._added.get_nowait()
            except queue.Empty:
                return
            inlet.close_stream()

    # -- threads ------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        w = self._writer
        assert w is not None
        last_flush = last_boundary = time.monotonic()
        try:
            while True:
                stopping = self._stop.is_set()
                self._add_queued(w)
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

    def _add_queued(self, w: XdfWriter) -> None:
        while True:
            try:
                inlet, full = self._added.get_nowait()
            except queue.Empty:
                return
            self._pull_all(w)  # what the retired stream still holds goes in before it is closed
            for sid in self._retired:
                self._inlets[sid - 1].close_stream()
            self._add(w, inlet, full)
            log.info("recording %s as stream %d of %s", full.name(), len(self._inlets), self.path.name)

    def _pull_all(self, w: XdfWriter) -> bool:
        got = False
        for sid, (inlet, st) in enumerate(zip(self._inlets, self.stats, strict=True), start=1):
            if sid in self._retired:
                continue
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
            for sid, inlet in list(enumerate(self._inlets, start=1)):
                if self._stop.is_set():
                    return  # stop() waits for this thread: never for a lost stream's time-out
                if sid in self._retired:
                    continue
                try:
                    offset = inlet.time_correction(timeout=1.0)
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
