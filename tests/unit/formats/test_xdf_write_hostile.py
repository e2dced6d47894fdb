"""``write_streams`` (recover's writer) on the stamps of damaged files: bounded work, every sample kept in order.

A recording damaged on disk can hold any stamp: NaN, ±inf, 1e308, a jump back in time. Recover rewrites
what it read, so the writer must finish in time proportional to the samples (it used to step through the
time span in 0.5 s chunks: a stamp of 1e12 s meant 2e12 steps) and must write each sample exactly once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.formats.xdf_format import XdfStream, chunk_keys, stream_header_xml, write_streams
from app.formats.xdf_reader import read_session_xdf
from tests.fuzz.harness import time_limit

HOSTILE = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e12, 0.0, -5.0, 5e-324]
stamps = st.lists(st.one_of(st.sampled_from(HOSTILE), st.floats(-1e3, 1e4)), min_size=0, max_size=60)


def _streams(gaze_t: list[float], marker_t: list[float]) -> list[XdfStream]:
    g = np.asarray(gaze_t, dtype=np.float64)
    m = np.asarray(marker_t, dtype=np.float64)
    gaze = XdfStream(1, "G", "Gaze", "double64", 500.0, "g", ("x", "y"), (),
                     stream_header_xml("G", "Gaze", ("x", "y"), "double64", 500.0, "g"), g,
                     np.column_stack([np.arange(len(g)), -np.arange(len(g))]).astype(np.float64).reshape(len(g), 2))
    marks = XdfStream(2, "M", "Markers", "string", 0.0, "m", ("marker",), (),
                      stream_header_xml("M", "Markers", ("marker",), "string", 0.0, "m"), m,
                      [[f"m{i}"] for i in range(len(m))])
    return [gaze, marks]


def _round_trip(tmp: Path, gaze_t: list[float], marker_t: list[float]) -> None:
    path = tmp / "h.xdf"
    path.unlink(missing_ok=True)
    with time_limit(20):
        write_streams(path, _streams(gaze_t, marker_t))
        back = read_session_xdf(path)
    g, m = back.streams["G"], back.streams["M"]
    np.testing.assert_array_equal(g.time_stamps, np.asarray(gaze_t, dtype=np.float64))  # NaN == NaN here
    np.testing.assert_array_equal(g.time_series[:, 0], np.arange(len(gaze_t)))  # every sample once, in order
    np.testing.assert_array_equal(m.time_stamps, np.asarray(marker_t, dtype=np.float64))
    assert m.strings() == [f"m{i}" for i in range(len(marker_t))]
    assert back.complete


def test_a_stamp_far_in_the_future_costs_nothing_and_loses_nothing(tmp_path: Path) -> None:
    gaze = [1000.0 + i / 500 for i in range(2000)]
    gaze[700] = 1e12  # 2e12 half-second steps for the old loop
    gaze[900] = 1e308
    _round_trip(tmp_path, gaze, [1000.5, 1e15, 1002.0, 1e12])  # the old loop: 2e12 steps to 1e12


def test_nan_inf_and_backward_stamps_keep_every_sample(tmp_path: Path) -> None:
    gaze = [float("nan"), 1000.0, 1000.002, float("inf"), 999.0, -float("inf"), 1000.004, float("nan")]
    _round_trip(tmp_path, gaze, [float("nan")])  # the old loop wrote nothing when the last stamp was NaN


def test_an_ordinary_recording_is_chunked_like_labrecorder(tmp_path: Path) -> None:
    keys = chunk_keys(np.array([10.0, 10.1, 10.49, 10.5, 11.2, 30.0]), 10.0, 0.5)
    assert keys.tolist() == [0.0, 0.0, 0.0, 1.0, 2.0, 40.0]
    _round_trip(tmp_path, [10.0 + i / 1000 for i in range(25_000)], [10.0, 20.0, 34.999])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gaze=stamps, marker=stamps)
def test_any_stamps_round_trip(tmp_path: Path, gaze: list[float], marker: list[float]) -> None:
    _round_trip(tmp_path, gaze, marker)
