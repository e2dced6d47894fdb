"""A LabRecorder stand-in behind the remote control: record the selected LSL streams into one XDF.

As LabRecorder does (``mainwindow.cpp``): ``update`` and ``select all`` look at the streams
visible now; ``start`` looks again and records the selected streams that are still there --
every visible stream when none is selected (LabRecorder's remote ``start`` ticks them all); a
selected stream that has vanished is left out with a warning instead of holding ``start`` up;
``stop`` closes the file. The target path comes checked from the remote control; an existing file
of that name is renamed ``<name>_oldN`` (the lowest free N) only once the streams have answered,
right before the new file is created, so a failing ``start`` leaves the folder as it was.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from app.core.errors import RecordingError

log = logging.getLogger(__name__)


def _set_aside(path: Path) -> Path | None:
    """LabRecorder's rule: an existing recording becomes ``<stem>_old<N><suffix>``; returns its new name."""
    if not path.exists():
        return None
    if path.is_dir():
        raise RecordingError(f"recording path {path} already exists and is a directory")
    n = 1
    while (old := path.with_name(f"{path.stem}_old{n}{path.suffix}")).exists():
        n += 1
    try:
        path.rename(old)
    except OSError as exc:
        raise RecordingError(f"cannot rename the file {path} to {old.name} ({exc.strerror})") from exc
    return old


class LslRecordingController:
    """Implements ``RecordingController`` over pylsl stream discovery and the XDF recorder."""

    def __init__(self, resolve_s: float = 1.0, open_timeout_s: float = 2.0) -> None:
        self.resolve_s = resolve_s
        self.open_timeout_s = open_timeout_s
        self.available: list[Any] = []
        self.selected: list[Any] = []
        self.recorder: Any = None
        self.path: Path | None = None
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    def refresh_streams(self) -> None:
        import pylsl

        seen, found = set(), []
        for info in pylsl.resolve_streams(wait_time=self.resolve_s):
            if info.uid() not in seen:
                seen.add(info.uid())
                found.append(info)
        self.available = sorted(found, key=lambda i: (i.name(), i.source_id()))

    def select_streams(self, which: str) -> None:
        if which == "none":
            self.selected = []
            return
        self.refresh_streams()
        self.selected = list(self.available)

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def _streams_to_record(self) -> list[Any]:
        self.refresh_streams()
        if not self.selected:
            return list(self.available)
        visible = {i.uid() for i in self.available}
        gone = [i for i in self.selected if i.uid() not in visible]
        if gone:
            self._warn("remote control: selected stream(s) no longer visible, left out of the recording: "
                       + ", ".join(f"{i.name()} ({i.source_id()})" for i in gone))
        return [i for i in self.selected if i.uid() in visible]

    def start_recording(self, path: Path) -> None:
        from app.recording.xdf_recorder import XdfRecorder

        with self._lock:
            if self.recorder is not None:
                self._warn(f"remote control: start while recording to {self.path}; still recording there")
                return
            if path.is_dir():
                raise RecordingError(f"recording path {path} already exists and is a directory")
            streams = self._streams_to_record()
            if not streams:
                raise RecordingError("no LSL streams to record: none visible on this machine")
            rec = XdfRecorder(path, streams, open_timeout=self.open_timeout_s)
            left_out = rec.connect(skip_unanswered=True)
            if left_out:
                self._warn(f"remote control: stream(s) {', '.join(left_out)} did not answer; left out")
            try:
                old = _set_aside(path)
            except RecordingError:
                rec.disconnect()
                raise
            if old is not None:
                log.warning("%s existed: renamed to %s", path, old.name)
            rec.start()
            self.recorder, self.path = rec, path
            log.info("recording %d streams to %s", len(streams) - len(left_out), path)

    def stop_recording(self) -> None:
        with self._lock:
            rec, self.recorder = self.recorder, None
            if rec is None:
                return  # LabRecorder answers OK to a stop while idle
            rec.stop()
            if rec.error:
                raise RecordingError(rec.error)
