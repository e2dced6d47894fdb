"""Gaze acquisition: an LSL inlet on a worker thread that fills a preallocated ring buffer.

Usage (the session, the GUI and the benchmark all do this)::

    acq = GazeAcquisition.connect(source_id="...", screen_px=(1920, 1080), on_gap=mark_gap)
    acq.start()
    block, idx = acq.buffer.since(idx)       # new samples (t in LSL clock s, x/y in screen px)
    acq.counters                             # received, lost, invalid, gaps, cpu_s, ...
    acq.stream_info                          # the tracker's pylsl.StreamInfo (for the recorder)
    acq.stop()

- Event-driven: the worker blocks in liblsl until the first sample of a chunk arrives (at most
  ``wait_s``, then it looks at stop and stall), takes whatever else is already there, and writes
  it into the buffer, which wakes its readers (:meth:`GazeRingBuffer.wait_for_new`) at once.
- Clock correction: liblsl's ``proc_clocksync`` adds the tracker machine's clock offset to every
  time stamp, so the buffer is in this machine's LSL clock (``pylsl.local_clock()``).
  ``dejitter=True`` adds ``proc_dejitter`` (for trackers that stamp samples on arrival).
- Lost samples: a step between successive time stamps longer than 1.5 nominal periods counts
  ``round(step * rate) - 1`` samples as lost; a step longer than ``gap_s`` (default 0.25 s) is a gap.
- Gaps: when no sample arrives for ``stall_s`` the acquisition calls ``on_gap_start(last_t)``;
  when samples come back (liblsl recovers a stream with the same source_id by itself; without
  one, the worker resolves it again by name, type and host) it calls ``on_gap(start, end)`` with
  the last time stamp before and the first after, and appends the pair to :attr:`gaps`.
- Restarts: while the stream is stalled the worker also looks (every ``follow_s``) for a *new* stream
  with the same name, type and host (``app.acquisition.follow``): a tracker app that comes back with
  another source_id or another channel layout. It re-checks the layout, switches to it and calls
  ``on_stream_changed(old, new, problem)`` (``problem`` is the reason it cannot be mapped, else None:
  then the worker keeps the old stream and goes on looking), so the session can record it too.
- Quality: every mapped chunk goes through :class:`app.core.gaze_quality.GazeQualityMonitor`
  (all-NaN gaze for seconds, NaN or non-increasing time stamps, gaze far off the screen);
  ``on_warning(QualityWarning)`` gets each warning once per episode.
- Errors on the worker thread are logged and turn the acquisition off (``counters.error``); with
  ``POVLAB_RAISE_WORKER_ERRORS=1`` (set by the tests' conftest) they are re-raised on the worker
  and again by :meth:`stop`, so a test fails instead of passing over a dead stream.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.acquisition.channels import ChannelMap
from app.acquisition.discovery import StreamDescription, describe, find_gaze_stream
from app.core.errors import TrackerError
from app.core.gaze import GazeRingBuffer
from app.core.gaze_quality import ChunkCounts, GazeQualityMonitor, QualityWarning

log = logging.getLogger(__name__)

_DTYPES = {"float32": np.float32, "double64": np.float64, "int32": np.int32, "int16": np.int16,
           "int8": np.int8, "int64": np.int64}


_EYE = {"left": 0, "right": 1, "average": 2}  # the eye's x/y rows in the mapped chunk, by pairs
FIRST_SAMPLE_GRACE_S = 5.0  # a tracker that never sent since its inlet opened counts as lost after this long


@dataclass(frozen=True)
class Counters:
    received: int  # samples taken from the inlet
    lost: int  # samples missing inside the stream (steps longer than 1.5 periods, shorter than a gap)
    invalid: int  # samples without a valid gaze position (blinks, track loss, low confidence)
    gaps: int  # times the stream vanished (or paused longer than gap_s) and came back
    last_timestamp: float | None  # newest sample, LSL clock s
    cpu_s: float  # CPU time spent by the worker thread
    running: bool
    stalled: bool  # no sample for longer than stall_s right now
    error: str | None  # why the worker stopped, if it failed


class GazeAcquisition:
    """Reads one tracker stream on a worker thread into :attr:`buffer` (a :class:`GazeRingBuffer`)."""

    def __init__(self, stream: StreamDescription | Any, channel_map: ChannelMap | None = None, *,
                 screen_px: tuple[int, int] = (1920, 1080), mapping: str | None = None, preset: str | None = None,
                 buffer_s: float = 120.0, eye: str = "average",
                 on_gap: Callable[[float, float], None] | None = None,
                 on_gap_start: Callable[[float], None] | None = None,
                 on_stream_changed: Callable[[StreamDescription, StreamDescription, str | None], None] | None = None,
                 on_warning: Callable[[QualityWarning], None] | None = None, follow_s: float = 0.5,
                 wait_s: float = 0.05, gap_s: float = 0.25, stall_s: float = 0.5, dejitter: bool = False) -> None:
        self.stream = stream if isinstance(stream, StreamDescription) else describe(stream)
        if self.stream.channel_format not in _DTYPES:
            raise TrackerError(f"stream {self.stream.name!r}: channel format {self.stream.channel_format} "
                               f"cannot carry gaze positions")
        if not 0 < wait_s <= stall_s:
            raise TrackerError(f"acquisition: wait_s must be > 0 and at most stall_s ({stall_s:g}), got {wait_s!r}")
        if eye not in ("average", "left", "right"):
            raise TrackerError(f"eye must be average, left or right, got {eye!r}")
        self.mapping, self.preset, self.screen_px = mapping, preset, screen_px
        self.channel_map = channel_map or self.stream.channel_map(screen_px, mapping, preset)
        if self.channel_map.n_channels != self.stream.n_channels:
            raise TrackerError(f"stream {self.stream.name!r} has {self.stream.n_channels} channels, the channel "
                               f"map expects {self.channel_map.n_channels}")
        if eye != "average" and eye not in self.channel_map.eyes:
            raise TrackerError(f"stream {self.stream.name!r} has no {eye} eye channels "
                               f"(eyes: {', '.join(self.channel_map.eyes)})")
        self.rate_hz = self.stream.rate_hz
        self.buffer = GazeRingBuffer(buffer_s, self.rate_hz if self.rate_hz > 0 else 1000.0)
        self.eye = eye
        self.gaps: list[tuple[float, float]] = []
        self.on_gap, self.on_gap_start = on_gap, on_gap_start
        self.on_stream_changed, self.on_warning, self.follow_s = on_stream_changed, on_warning, follow_s
        self.quality = GazeQualityMonitor(screen_px)
        self.quality_warnings: list[QualityWarning] = []
        self._seen_uids = {self.stream.uid}
        self._next_follow = 0.0
        self.wait_s, self.gap_s, self.stall_s, self.dejitter = wait_s, gap_s, stall_s, dejitter
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._received = self._lost = self._invalid = 0
        self._last_ts: float | None = None
        self._last_rx = 0.0
        self._stalled = False
        self._opened_lsl = 0.0  # LSL time the inlet opened: where a gap starts when no sample ever came
        self._cpu_s = 0.0
        self._error: BaseException | None = None

    @classmethod
    def connect(cls, name: str | None = None, source_id: str | None = None, timeout: float = 5.0,
                **kwargs: Any) -> GazeAcquisition:
        """Find the tracker stream (see :func:`find_gaze_stream`) and build an acquisition for it."""
        return cls(find_gaze_stream(name=name, source_id=source_id, timeout=timeout), **kwargs)

    @property
    def stream_info(self) -> Any:
        """The tracker's ``pylsl.StreamInfo`` (full metadata), e.g. for the recorder."""
        return self.stream.info

    @property
    def counters(self) -> Counters:
        with self._lock:
            return Counters(self._received, self._lost, self._invalid, len(self.gaps), self._last_ts, self._cpu_s,
                            self._thread is not None and self._thread.is_alive(), self._stalled,
                            None if self._error is None else f"{type(self._error).__name__}: {self._error}")

    def start(self) -> GazeAcquisition:
        if self._thread is not None:
            raise TrackerError("acquisition already started")
        from app.acquisition.map_kernel import warm_up

        warm_up()  # load (or compile) the channel map's loop now, not on the first chunk
        self._thread = threading.Thread(target=self._run, name=f"gaze-{self.stream.name}", daemon=True)
        self._thread.start()
        return self

    def measured_rate_hz(self, timeout_s: float = 3.0, min_samples: int = 30) -> float | None:
        """The rate the time stamps show (1 / median interval), waiting up to ``timeout_s`` for samples.

        For streams that publish no nominal rate (the old Tobii app, the Pupil relays): the detector needs one.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            t = self.buffer.snapshot().t
            t = t[np.isfinite(t)]
            if len(t) >= min_samples:
                steps = np.diff(t)
                steps = steps[steps > 0]
                if len(steps):
                    return float(1.0 / np.median(steps))
            if time.monotonic() >= deadline or self._stop.is_set():
                return None
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; with POVLAB_RAISE_WORKER_ERRORS=1 re-raise the error it died of."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._error is not None and os.environ.get("POVLAB_RAISE_WORKER_ERRORS") == "1":
            raise self._error

    def __enter__(self) -> GazeAcquisition:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # worker -----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:
            with self._lock:
                self._error = exc
            log.exception("gaze acquisition of %s stopped", self.stream.name)
            if os.environ.get("POVLAB_RAISE_WORKER_ERRORS") == "1":
                raise

    def _open_inlet(self, info: Any) -> Any:
        import pylsl

        flags = pylsl.proc_clocksync | (pylsl.proc_dejitter if self.dejitter else 0)
        inlet = pylsl.StreamInlet(info, max_buflen=max(int(self.buffer.capacity / max(self.rate_hz, 1)), 30),
                                  recover=True, processing_flags=flags)
        inlet.open_stream(timeout=5.0)
        return inlet

    def _pull(self, inlet: Any, dest: np.ndarray, ts_buf: np.ndarray) -> np.ndarray:
        """Block until a sample arrives (at most ``wait_s``), then take what else is there; returns time stamps.

        Two liblsl pulls, because its chunk pull with a timeout waits for a full buffer (or the timeout):
        the first waits for one sample, the second takes the rest without waiting. They call liblsl's
        ``lsl_pull_chunk_*`` straight into the preallocated ``dest`` and ``ts_buf`` (pylsl's own
        ``pull_chunk`` builds ctypes arrays and numpy views per call: twice the CPU per chunk);
        errors (lost stream, timeout) are raised by pylsl's own ``handle_error``.
        """
        from pylsl.util import handle_error

        pull, obj = inlet.do_pull_chunk, inlet.obj  # numeric streams only: __init__ refuses the others
        n_ch, err = dest.shape[1], ctypes.c_int()
        data_ptr, ts_ptr = dest.ctypes.data, ts_buf.ctypes.data
        got = pull(obj, ctypes.c_void_p(data_ptr), ctypes.c_void_p(ts_ptr), ctypes.c_size_t(n_ch),
                   ctypes.c_size_t(1), ctypes.c_double(self.wait_s), ctypes.byref(err))
        handle_error(err)
        if got < n_ch:
            return ts_buf[:0]
        rest = len(dest) - 1
        more = pull(obj, ctypes.c_void_p(data_ptr + dest.strides[0]), ctypes.c_void_p(ts_ptr + 8),
                    ctypes.c_size_t(rest * n_ch), ctypes.c_size_t(rest), ctypes.c_double(0.0), ctypes.byref(err))
        handle_error(err)
        return ts_buf[:1 + more // n_ch]

    def _loop(self) -> None:
        import pylsl
        from pylsl.util import LostError
        from pylsl.util import TimeoutError as LslTimeoutError

        n_ch = self.stream.n_channels
        max_chunk = int(max(1024, self.rate_hz * 1.0))
        dest = np.empty((max_chunk, n_ch), dtype=_DTYPES[self.stream.channel_format])
        ts_buf = np.empty(max_chunk)
        self._opened_lsl = pylsl.local_clock()
        inlet: Any = self._open_or_none(self.stream.resolved)
        self._last_rx = time.monotonic()
        while not self._stop.is_set():
            if inlet is None:  # the outlet went away while it was being opened: look for it as after a stall
                self._mark_stalled()
                inlet = self._resolve_again()
                if inlet is None and (switched := self._follow()) is not None:
                    inlet, dest = switched
                    ts_buf = np.empty(len(dest))
                continue
            try:
                ts = self._pull(inlet, dest, ts_buf)
            except LostError:
                inlet = self._reconnect()
                if inlet is None:
                    break
                continue
            except LslTimeoutError:
                # liblsl says "timeout" instead of "lost" when the outlet vanished before its first sample came:
                # silence, which the stall and follow logic below handles like any other loss
                ts = np.empty(0)
            n = len(ts)
            if n:
                self._ingest(dest[:n], ts)
            elif time.monotonic() - self._last_rx > (self.stall_s if self._last_ts is not None else
                                                      max(self.stall_s, FIRST_SAMPLE_GRACE_S)):
                self._mark_stalled()
                switched = self._follow()
                if switched is not None:
                    inlet.close_stream()
                    inlet, dest = switched
                    ts_buf = np.empty(len(dest))
            self._cpu_s = time.thread_time()
        self._cpu_s = time.thread_time()

    def _open_or_none(self, info: Any) -> Any:
        """An open inlet, or None when the outlet vanished while it was being opened."""
        from pylsl.util import LostError
        from pylsl.util import TimeoutError as LslTimeoutError

        try:
            return self._open_inlet(info)
        except (LslTimeoutError, LostError) as exc:
            log.warning("stream %s could not be opened (%s); looking for it again", self.stream.name, exc)
            return None

    def _mark_stalled(self) -> None:
        """No sample for ``stall_s`` (or none yet since the inlet opened): a gap starts at the last sample."""
        if self._stalled:
            return
        with self._lock:
            self._stalled = True
        if self.on_gap_start is not None:
            self.on_gap_start(self._last_ts if self._last_ts is not None else self._opened_lsl)

    def _follow(self) -> tuple[Any, np.ndarray] | None:
        """While stalled: the tracker back under a new outlet (another source_id or layout), opened, or None."""
        from app.acquisition.follow import choose_returned, find_returned

        now = time.monotonic()
        if now < self._next_follow:
            return None
        self._next_follow = now + self.follow_s
        new = choose_returned(self.stream, find_returned(self.stream, self._seen_uids))
        if new is None:
            return None
        self._seen_uids.add(new.uid)
        old, problem = self.stream, None
        try:
            if new.channel_format not in _DTYPES:
                raise TrackerError(f"stream {new.name!r}: channel format {new.channel_format} cannot carry gaze")
            cmap = new.channel_map(self.screen_px, self.mapping, self.preset)
            if self.eye != "average" and self.eye not in cmap.eyes:
                raise TrackerError(f"stream {new.name!r} has no {self.eye} eye channels any more")
        except TrackerError as exc:
            problem = str(exc)
        if problem is None:
            try:
                inlet = self._open_inlet(new.resolved)
            except Exception as exc:  # noqa: BLE001 - pylsl's TimeoutError/LostError: gone again, look again later
                log.info("returned stream %s did not open (%s); looking again", new.source_id, exc)
                self._seen_uids.discard(new.uid)
                return None
            dest = np.empty((int(max(1024, self.rate_hz)), new.n_channels), dtype=_DTYPES[new.channel_format])
            with self._lock:
                self.stream, self.channel_map = new, cmap
        log.warning("tracker %s came back as %s (%s)%s", old.name, new.source_id, new.uid,
                    f": {problem}" if problem else "")
        if self.on_stream_changed is not None:
            self.on_stream_changed(old, new, problem)
        return None if problem is not None else (inlet, dest)

    def _reconnect(self) -> Any:
        """Resolve the stream again (same source_id, or same name, type and host) until it is back."""
        while not self._stop.is_set():
            inlet = self._resolve_again()
            if inlet is not None:
                return inlet
        return None

    def _resolve_again(self) -> Any:
        """One look (0.5 s) for the same stream (same source_id, or same name, type and host), opened; or None."""
        import pylsl

        s = self.stream
        parts = [f"name='{s.name}'", f"type='{s.type}'"]
        parts.append(f"source_id='{s.source_id}'" if s.source_id else f"hostname='{s.hostname}'")
        found = pylsl.resolve_bypred(" and ".join(parts), 1, 0.5)
        return self._open_or_none(found[0]) if found else None

    def _ingest(self, data: np.ndarray, ts: np.ndarray) -> None:
        """Map a pulled chunk, count its losses and gaps, check its quality, hand it to the buffer.

        One compiled call (:func:`app.acquisition.map_kernel.ingest_chunk`) does the per-sample work: a live
        chunk is a few samples (one, from trackers that push each sample), so Python steps are what cost.
        """
        from app.acquisition.map_kernel import ingest_chunk

        # the first samples after a stall that began before any sample: the gap runs from the inlet's opening
        prev = self._last_ts if self._last_ts is not None or not self._stalled else self._opened_lsl
        d = self.channel_map.as_chunk(data)
        qw, qh = self.quality.screen_px
        out, lost, gap_at, invalid, n_valid, n_far, sx, sy = ingest_chunk(
            d, ts, np.nan if prev is None else prev, float(self.rate_hz), float(self.gap_s),
            *self.channel_map.kernel_args, _EYE[self.eye], float(self.quality.margin), float(qw), float(qh))
        new_gaps = [(float(ts[k - 1]) if k > 0 else float(prev if prev is not None else ts[k]), float(ts[k]))
                    for k in gap_at.tolist()]
        r = 2 * _EYE[self.eye]  # rows of the mapped result: left x/y, right x/y, mean x/y
        x, y = out[r], out[r + 1]
        counts = ChunkCounts(n_valid, n_far, sx, sy)
        for warning in self.quality.feed(ts, x, y, time.monotonic(), counts):
            self.quality_warnings.append(warning)
            if self.on_warning is not None:
                self.on_warning(warning)
        self.buffer.extend(ts, x, y, out[6])  # wakes the live pipeline: as late as possible, so it finds the GIL free
        with self._lock:
            self._received += len(ts)
            self._lost += lost
            self._invalid += invalid
            self._last_ts = float(ts[-1])
            self._stalled = False
            self.gaps.extend(new_gaps)
        self._last_rx = time.monotonic()
        if self.on_gap is not None:
            for start, end in new_gaps:
                self.on_gap(start, end)
