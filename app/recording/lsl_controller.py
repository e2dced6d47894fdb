"""A LabRecorder stand-in behind the remote control: record the selected LSL streams into one XDF.

``select all`` takes every stream visible now (like LabRecorder's list after ``update``),
``start`` records them with the crash-safe :class:`~app.recording.xdf_recorder.XdfRecorder`
into the path named by the last ``filename`` command, ``stop`` closes the file. As in
LabRecorder, an existing file of that name is never overwritten: it is renamed ``<name>_oldN``
first (the lowest free N). A lab script written for LabRecorder therefore drives POV Lab unchanged.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from app.core.errors import RecordingError
from app.recording.remote_control import RecordingTarget

log = logging.getLogger(__name__)


def _set_aside(path: Path) -> Path | None:
    """LabRecorder's rule: an existing recording becomes ``<stem>_old<N><suffix>``; returns its new name."""
    if not path.exists():
        return None
    n = 1
    while (old := path.with_name(f"{path.stem}_old{n}{path.suffix}")).exists():
        n += 1
    path.rename(old)
    return old


class LslRecordingController:
    """Implements ``RecordingController`` over pylsl stream discovery and the XDF recorder."""

    def __init__(self, resolve_s: float = 1.0) -> None:
        self.resolve_s = resolve_s
        self.available: list[Any] = []
        self.selected: list[Any] = []
        self.recorder: Any = None
        self.path: Path | None = None
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

    def start_recording(self, target: RecordingTarget) -> None:
        from app.recording.xdf_recorder import XdfRecorder

        with self._lock:
            if self.recorder is not None:
                raise RecordingError(f"already recording to {self.path}; send stop first")
            if not self.selected:
                raise RecordingError("no streams selected (send 'select all' while the streams are running)")
            path = target.path()
            path.parent.mkdir(parents=True, exist_ok=True)
            old = _set_aside(path)
            if old is not None:
                log.warning("%s existed: renamed to %s", path, old.name)
            rec = XdfRecorder(path, self.selected)
            rec.start()
            self.recorder, self.path = rec, path
            log.info("recording %d streams to %s", len(self.selected), path)

    def stop_recording(self) -> None:
        with self._lock:
            rec, self.recorder = self.recorder, None
            if rec is None:
                return  # LabRecorder answers OK to a stop while idle
            rec.stop()
            if rec.error:
                raise RecordingError(rec.error)
