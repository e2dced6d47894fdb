"""Bridges into the GUI thread: the event queue and the once-per-frame gaze poll."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.core.gaze import GazeRingBuffer
from app.gui.live_model import LiveModel
from app.gui.polling import EventQueue, GazePoller
from app.session.updates import SessionWarning


class _Counters:
    def __init__(self) -> None:
        self.received, self.lost, self.stalled = 0, 0, False


class _Source:
    def __init__(self, rate: float) -> None:
        self.buffer = GazeRingBuffer(10.0, rate)
        self.counters = _Counters()


def test_poller_shows_the_newest_valid_sample_and_measures_the_rate() -> None:
    src, model = _Source(1000.0), LiveModel()
    poller = GazePoller(src, model)
    t = np.arange(1500) / 1000.0
    x = np.linspace(0, 1000, 1500)
    x[-3:] = np.nan  # a blink at the end: the point stays on the last valid sample
    for i in range(0, 1500, 50):  # 30 frames of 50 ms
        src.buffer.extend(t[i:i + 50], x[i:i + 50], x[i:i + 50] / 2)
        src.counters.received += 50
        assert poller.poll() == 50
    assert model.gaze == (t[-4], x[-4], x[-4] / 2)
    assert poller.newest_t == t[-1]
    assert model.rate_hz == pytest.approx(1000.0, rel=0.01)
    assert model.received == 1500 and poller.poll() == 0


def test_poller_starts_at_the_samples_written_after_it() -> None:
    src, model = _Source(500.0), LiveModel()
    src.buffer.extend(np.array([0.0]), np.array([5.0]), np.array([6.0]))
    poller = GazePoller(src, model)
    assert poller.poll() == 0 and model.gaze is None


def test_event_queue_carries_events_from_other_threads_in_order() -> None:
    q, model = EventQueue(), LiveModel()
    seen: list[str] = []
    model.subscribe(seen.append)
    threads = [threading.Thread(target=lambda k=k: q(SessionWarning("disk_low", f"low {k}"))) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert q.drain(model) == 3 and q.drain(model) == 0
    assert seen == ["banners"] * 3 and model.banners["disk_low"].startswith("low ")
