"""Acquisition over real LSL on loopback: discovery, every sample received, lost counted, recovery."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from app.acquisition.channels import ChannelMap
from app.acquisition.discovery import find_gaze_stream, find_streams
from app.acquisition.inlet import GazeAcquisition
from app.acquisition.outlets import Outlet, open_outlet
from app.acquisition.sim_tracker import SimulatedTracker
from app.core.errors import TrackerError
from app.core.layout import layout_trial
from app.core.markers import trial_start_markers
from app.core.protocol import load_protocol
from app.core.streams import MARKERS, SIM_GAZE
from app.core.synthetic_gaze import SimParams

pylsl = pytest.importorskip("pylsl")


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def push_grid(out: Outlet, t0: float, k0: int, n: int, rate: float, skip: set[int] = frozenset()) -> None:
    """Push samples k0..k0+n-1 (x = k, y = 2k) stamped t0 + k/rate, in real time, 20 at a time."""
    ks = np.array([k for k in range(k0, k0 + n) if k not in skip])
    for i in range(0, len(ks), 20):
        k = ks[i:i + 20]
        data = np.column_stack([k, 2 * k, k, 2 * k, np.full(len(k), 3.0), np.full(len(k), 3.0)]).astype(float)
        out.push_chunk(data, t0 + k / rate)
        time.sleep(20 / rate)


def test_discovery_by_source_id(source_id: str) -> None:
    with SimulatedTracker(500, source_id=source_id, seed=0):
        d = find_gaze_stream(source_id=source_id, timeout=5)
        assert (d.name, d.type, d.source_id, d.rate_hz, d.n_channels) == ("PovLab-SimTracker", "Gaze", source_id,
                                                                          500.0, 6)
        assert d.labels == SIM_GAZE.channels
        assert source_id in d.summary() and "500 Hz" in d.summary()
        listed = find_streams(source_id=source_id, timeout=1.0)
        assert [x.source_id for x in listed] == [source_id]


def test_every_sample_received_in_order(source_id: str) -> None:
    rate = 1000.0
    out = open_outlet(SIM_GAZE, source_id, rate)
    acq = GazeAcquisition.connect(source_id=source_id, timeout=5).start()
    time.sleep(0.2)
    t0 = pylsl.local_clock()
    push_grid(out, t0, 0, 2000, rate)
    assert wait_for(lambda: acq.counters.received >= 2000)
    acq.stop()
    c = acq.counters
    assert (c.received, c.lost, c.invalid, c.gaps, c.error) == (2000, 0, 0, 0, None)
    b = acq.buffer.snapshot()
    np.testing.assert_array_equal(b.x, np.arange(2000.0))
    np.testing.assert_array_equal(b.y, 2 * np.arange(2000.0))
    # the clock correction is re-estimated every few seconds: under load it moved by up to 5 us between two
    # samples (seen once); a lost, repeated or mis-stamped sample is off by a whole period (1000 us)
    np.testing.assert_allclose(np.diff(b.t), 1 / rate, atol=5e-5)


def test_missing_samples_are_counted_as_lost(source_id: str) -> None:
    out = open_outlet(SIM_GAZE, source_id, 500.0)
    acq = GazeAcquisition.connect(source_id=source_id, timeout=5).start()
    time.sleep(0.2)
    push_grid(out, pylsl.local_clock(), 0, 300, 500.0, skip={100, 101, 102, 200})
    assert wait_for(lambda: acq.counters.received >= 296)
    acq.stop()
    assert (acq.counters.received, acq.counters.lost, acq.counters.gaps) == (296, 4, 0)


def test_outlet_vanishes_and_returns(source_id: str) -> None:
    rate = 500.0
    starts: list[float] = []
    gaps: list[tuple[float, float]] = []
    out = open_outlet(SIM_GAZE, source_id, rate)
    acq = GazeAcquisition.connect(source_id=source_id, timeout=5, stall_s=0.3, on_gap_start=starts.append,
                                  on_gap=lambda a, b: gaps.append((a, b))).start()
    time.sleep(0.2)
    t0 = pylsl.local_clock()
    push_grid(out, t0, 0, 100, rate)
    assert wait_for(lambda: acq.counters.received == 100)
    out.close()
    assert wait_for(lambda: acq.counters.stalled, 5)
    out2 = open_outlet(SIM_GAZE, source_id, rate)
    t1 = pylsl.local_clock()
    k1 = int((t1 - t0) * rate) + 1
    for _ in range(150):  # keep publishing until liblsl has recovered the stream (usually 1-3 s)
        push_grid(out2, t0, k1, 50, rate)
        k1 += 50
        if gaps:
            break
    acq.stop()
    assert starts == [pytest.approx(t0 + 99 / rate, abs=1e-3)]  # clock correction: offset of a few us
    assert len(gaps) == 1 and acq.gaps == gaps
    start, end = gaps[0]
    assert start == starts[0] and end > t1
    assert acq.counters.received > 100 and acq.counters.lost == 0 and acq.counters.error is None


def test_sim_tracker_reads_the_caption_after_stim_onset(source_id: str, demo_protocol_path) -> None:
    protocol = load_protocol(demo_protocol_path)
    trial = protocol.all_trials[0]
    layout = layout_trial(protocol, trial)
    markers = open_outlet(MARKERS, source_id + "-markers")
    params = SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0)
    with SimulatedTracker(500, params=params, protocol=protocol, source_id=source_id,
                          markers_source_id=source_id + "-markers", seed=3) as sim:
        acq = GazeAcquisition.connect(source_id=source_id, timeout=5, screen_px=(1920, 1080)).start()
        # subscribing (resolve the markers stream, open it, first clock offset) took 1.2 s (median) and at most
        # 3.5 s in 118 runs beside three busy loops at load 10-14; the 2 of 120 runs that never subscribed had a
        # markers outlet outside lsl_api.cfg's port range (see test_a_stream_is_found_among_many_outlets)
        assert wait_for(lambda: sim.following_markers, 15), f"not subscribed; phases so far: {sim.subscribe_s}"
        now = pylsl.local_clock()
        for m in trial_start_markers(1, trial, layout):
            markers.push(m, now)
        onset = pylsl.local_clock() + 0.05
        markers.push("STIM_ONSET", onset)
        assert wait_for(lambda: (acq.counters.last_timestamp or 0) > onset + 1.2)
        acq.stop()
    b = acq.buffer.snapshot()
    before = b.between(onset - 0.5, onset)
    assert np.nanmedian(np.hypot(before.x - 960, before.y - 540)) < 2 * protocol.screen.px_per_deg
    reading = b.between(onset + 0.15, onset + 1.0)
    x0 = min(a.bbox[0] for a in layout.word_aois)
    x1 = max(a.bbox[2] for a in layout.word_aois)
    y1 = max(a.bbox[3] for a in layout.word_aois)
    pad = protocol.screen.px_per_deg
    on_caption = (reading.x > x0 - pad) & (reading.x < x1 + pad) & (reading.y < y1 + pad)
    assert on_caption.mean() > 0.8
    assert sim.markers_seen >= 2


def test_a_stream_is_found_among_many_outlets(source_id: str) -> None:
    """More outlets on the machine than liblsl's default port range (32): each must still be found.

    Past the configured range an outlet takes a random port that no resolver queries; with other test runs
    on the machine that made the simulated tracker miss the session's markers stream now and then.
    """
    outlets = [open_outlet(MARKERS, f"{source_id}-{k}") for k in range(40)]
    try:
        for k in (0, 33, 39):
            found = find_streams(source_id=f"{source_id}-{k}", timeout=5.0)
            assert [d.source_id for d in found] == [f"{source_id}-{k}"], f"outlet {k} of 40 not found"
    finally:
        for out in outlets:
            out.close()


class ExplodingMap(ChannelMap):
    """A map that fails when the worker maps its first chunk (the acquisition reads ``kernel_args`` then)."""

    @property
    def kernel_args(self):  # type: ignore[override]
        raise RuntimeError("boom in the worker")


@pytest.mark.parametrize("raise_in_tests", [pytest.param("1", id="tests-reraise"), pytest.param("0", id="production")])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_worker_error_turns_the_stream_off(source_id: str, monkeypatch: pytest.MonkeyPatch,
                                           raise_in_tests: str) -> None:
    monkeypatch.setenv("POVLAB_RAISE_WORKER_ERRORS", raise_in_tests)
    out = open_outlet(SIM_GAZE, source_id, 500.0)
    d = find_gaze_stream(source_id=source_id, timeout=5)
    acq = GazeAcquisition(d, ExplodingMap(n_channels=6, left_x=0, left_y=1)).start()
    # samples pushed before the worker's inlet is connected never reach it (under load that took > 80 ms):
    # push until the first one arrives and kills the worker
    k, end = 0, time.monotonic() + 10.0
    while acq.counters.running and time.monotonic() < end:
        push_grid(out, pylsl.local_clock(), k, 40, 500.0)
        k += 40
    assert wait_for(lambda: not acq.counters.running)
    assert acq.counters.error == "RuntimeError: boom in the worker"
    if raise_in_tests == "1":
        with pytest.raises(RuntimeError, match="boom"):
            acq.stop()
    else:
        acq.stop()  # logged, not raised


def test_channel_map_of_another_width_is_refused(source_id: str) -> None:
    _out = open_outlet(SIM_GAZE, source_id, 500.0)
    d = find_gaze_stream(source_id=source_id, timeout=5)
    with pytest.raises(TrackerError, match="has 6 channels, the channel map expects 2"):
        GazeAcquisition(d, ChannelMap(n_channels=2, left_x=0, left_y=1))
