from __future__ import annotations

import threading

import numpy as np
import pytest

from app.core.gaze import GazeBlock, GazeRingBuffer


def test_ring_buffer_wraps_and_keeps_newest() -> None:
    buf = GazeRingBuffer(seconds=1.0, rate_hz=10)  # 11 slots
    for start in range(0, 30, 7):
        t = np.arange(start, start + 7, dtype=float)
        buf.extend(t, t * 2, t * 3)
    snap = buf.snapshot()
    assert len(snap) == buf.capacity
    np.testing.assert_array_equal(snap.t, np.arange(35 - buf.capacity, 35))
    np.testing.assert_array_equal(snap.x, snap.t * 2)
    assert buf.total_written == 35


def test_chunk_larger_than_capacity() -> None:
    buf = GazeRingBuffer(seconds=0.5, rate_hz=10)
    t = np.arange(100, dtype=float)
    buf.extend(t, t, t)
    np.testing.assert_array_equal(buf.snapshot().t, t[-buf.capacity:])


def test_since_returns_only_new_samples() -> None:
    buf = GazeRingBuffer(seconds=10, rate_hz=10)
    buf.extend(np.arange(5.0), np.zeros(5), np.zeros(5))
    block, idx = buf.since(0)
    assert len(block) == 5 and idx == 5
    buf.extend(np.arange(5.0, 8.0), np.zeros(3), np.zeros(3))
    block, idx = buf.since(idx)
    np.testing.assert_array_equal(block.t, [5, 6, 7])
    block, idx2 = buf.since(idx)
    assert len(block) == 0 and idx2 == idx


def test_snapshot_is_consistent_under_concurrent_writes() -> None:
    buf = GazeRingBuffer(seconds=1, rate_hz=1000)
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            t = np.arange(i, i + 17, dtype=float)
            buf.extend(t, t, -t)
            i += 17

    th = threading.Thread(target=writer)
    th.start()
    try:
        for _ in range(200):
            s = buf.snapshot()
            if len(s) > 1:
                assert np.all(np.diff(s.t) == 1)
                np.testing.assert_array_equal(s.y, -s.t)
    finally:
        stop.set()
        th.join()


def test_block_between_and_validation() -> None:
    b = GazeBlock.from_arrays([0, 1, 2, 3], [1, np.nan, 3, 4], [1, 2, 3, 4])
    assert list(b.between(1, 3).t) == [1, 2]
    assert list(b.valid) == [True, False, True, True]
    with pytest.raises(Exception, match="same length"):
        GazeBlock.from_arrays([0, 1], [0], [0, 1])


def test_a_reader_waits_for_new_samples_and_is_woken_by_the_writer() -> None:
    buf = GazeRingBuffer(seconds=1, rate_hz=1000)
    assert buf.wait_for_new(0, 0.01) is False  # nothing written: times out
    buf.extend(np.array([0.0, 0.001]), np.zeros(2), np.zeros(2))
    assert buf.wait_for_new(0, 0.0) is True and buf.wait_for_new(1, 0.0) is True
    assert buf.wait_for_new(2, 0.0) is False  # the reader has both
    got: list[bool] = []
    waiting = threading.Event()

    def reader() -> None:
        waiting.set()
        got.append(buf.wait_for_new(2, 60.0))  # only the writer's notification ends this in time

    th = threading.Thread(target=reader)
    th.start()
    waiting.wait(5.0)
    buf.extend(np.array([0.002]), np.zeros(1), np.zeros(1))
    th.join(10.0)
    assert not th.is_alive() and got == [True]


def test_wake_releases_a_waiting_reader_without_samples() -> None:
    buf = GazeRingBuffer(seconds=1, rate_hz=1000)
    got: list[bool] = []
    th = threading.Thread(target=lambda: got.append(buf.wait_for_new(0, 60.0)))
    th.start()
    while not got and th.is_alive():
        buf.wake()  # a wake before the reader waits is lost: repeat until it has returned
        th.join(0.05)
    assert got == [False]
