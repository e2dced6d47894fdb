"""Bridges from session threads into the GUI thread, without one Qt signal per sample.

- :class:`EventQueue`: the session's listener puts each event into a thread-safe queue; the
  window's frame timer drains it into the :class:`LiveModel` (one step per event, in the GUI thread).
- :class:`GazePoller`: on each frame, the samples that arrived since the last frame are read from
  the acquisition's ring buffer in one copy (``GazeRingBuffer.since``), the newest valid one
  becomes the gaze point, and the rate is measured over about one second of sample time stamps.
"""

from __future__ import annotations

import queue
from collections import deque
from typing import Any

import numpy as np

from app.gui.live_model import LiveModel


class EventQueue:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()

    def __call__(self, event: object) -> None:  # the session's listener: any thread, never blocks
        self._queue.put(event)

    def drain(self, model: LiveModel, limit: int = 1000) -> int:
        n = 0
        while n < limit:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            model.apply(event)
            n += 1
        return n


class GazePoller:
    def __init__(self, source: Any, model: LiveModel, rate_window_s: float = 1.0) -> None:
        self.source = source
        self.model = model
        self.rate_window_s = rate_window_s
        self._index = source.buffer.total_written
        self._marks: deque[tuple[float, int]] = deque()  # (newest sample time, total samples)
        self.newest_t: float | None = None  # newest sample time stamp seen (valid or not)

    def poll(self) -> int:
        """Read what arrived since the last poll; returns the number of new samples."""
        block, total = self.source.buffer.since(self._index)
        n = total - self._index
        self._index = total
        if len(block):
            t_last = float(block.t[-1])
            self.newest_t = t_last
            valid = np.flatnonzero(block.valid)
            if len(valid):
                i = valid[-1]
                self.model.set_gaze(float(block.t[i]), float(block.x[i]), float(block.y[i]))
            self._marks.append((t_last, total))
            while len(self._marks) > 2 and t_last - self._marks[1][0] >= self.rate_window_s:
                self._marks.popleft()
        rate = None
        if len(self._marks) >= 2:
            (t0, n0), (t1, n1) = self._marks[0], self._marks[-1]
            if t1 - t0 > 0.2:
                rate = (n1 - n0) / (t1 - t0)
        c = self.source.counters
        self.model.set_quality(rate, int(c.received), int(c.lost))
        return n
