"""The operator window's tracker picker over loopback LSL (app.acquisition.trackers.list_gaze_streams)."""

from __future__ import annotations

import pylsl

from app.acquisition.sim_tracker import SimulatedTracker
from app.acquisition.trackers import list_gaze_streams


def test_picker_lists_a_real_gaze_stream_with_its_rate_and_channels(source_id: str) -> None:
    sim = SimulatedTracker(rate_hz=500.0, source_id=source_id, seed=1).start()
    odd = pylsl.StreamOutlet(pylsl.StreamInfo("NoGazeHere", "Gaze", 3, pylsl.IRREGULAR_RATE, "float32",
                                              f"{source_id}-odd"))
    try:
        found = list_gaze_streams(timeout_s=1.5)
    finally:
        sim.stop()
        del odd
    assert found[0].tracker == "sim", "the simulator is always offered first"
    mine = {t.tracker: t for t in found}
    sim_row = mine[f"lsl-id:{source_id}"]
    assert sim_row.ok and sim_row.rate_hz == 500.0 and sim_row.n_channels == 6 and "both eyes" in sim_row.note
    odd_row = mine[f"lsl-id:{source_id}-odd"]
    assert not odd_row.ok and "irregular rate" in odd_row.note
