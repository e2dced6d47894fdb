"""The XDF recorder over real LSL on loopback: everything recorded, never overwritten, kill -9 safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.core.errors import RecordingError

pylsl = pytest.importorskip("pylsl")


def _outlets(source_id: str):
    gaze = pylsl.StreamOutlet(pylsl.StreamInfo("T-Gaze", "Gaze", 2, 500, "double64", source_id + "-g"))
    mk = pylsl.StreamOutlet(pylsl.StreamInfo("T-Markers", "Markers", 1, 0, "string", source_id + "-m"))
    infos = [pylsl.resolve_byprop("source_id", source_id + s, timeout=5)[0] for s in ("-g", "-m")]
    return gaze, mk, infos


def test_records_numeric_and_string_streams(tmp_path: Path, source_id: str) -> None:
    from app.recording.xdf_recorder import XdfRecorder

    gaze, mk, infos = _outlets(source_id)
    rec = XdfRecorder(tmp_path / "a.xdf", infos, offset_interval=0.5)
    rec.start()
    t_sent = []
    for i in range(50):
        gaze.push_chunk(np.column_stack([np.arange(10) + 10 * i, -np.arange(10.0)]).tolist())
        if i % 10 == 0:
            ts = pylsl.local_clock()
            mk.push_sample([f"TRIALID {i // 10 + 1}"], ts)
            t_sent.append(ts)
        time.sleep(0.02)
    time.sleep(0.3)
    rec.stop()
    assert rec.error is None
    streams, _ = pyxdf.load_xdf(str(tmp_path / "a.xdf"), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    g = by_name["T-Gaze"]
    assert g["time_series"].shape == (500, 2)
    np.testing.assert_array_equal(g["time_series"][:, 0], np.arange(500))
    m = by_name["T-Markers"]
    assert [x[0] for x in m["time_series"]] == [f"TRIALID {k}" for k in range(1, 6)]
    np.testing.assert_allclose(m["time_stamps"], t_sent, atol=1e-9)
    assert g["footer"]["info"]["clock_offsets"][0] is not None


def test_never_overwrites(tmp_path: Path, source_id: str) -> None:
    from app.recording.xdf_recorder import XdfRecorder

    (tmp_path / "a.xdf").write_bytes(b"precious")
    _g, _m, infos = _outlets(source_id)
    with pytest.raises(RecordingError, match="never overwritten"):
        XdfRecorder(tmp_path / "a.xdf", infos).start()
    assert (tmp_path / "a.xdf").read_bytes() == b"precious"


RECORD_SCRIPT = textwrap.dedent("""
    import sys, time, pylsl
    from pathlib import Path
    from app.recording.xdf_recorder import XdfRecorder
    infos = [pylsl.resolve_byprop("source_id", s, timeout=5)[0] for s in sys.argv[2:]]
    rec = XdfRecorder(Path(sys.argv[1]), infos)
    rec.start()
    print("recording", flush=True)
    time.sleep(60)
""")


def test_kill_9_leaves_a_loadable_file(tmp_path: Path, source_id: str) -> None:
    """The recorder process is killed with SIGKILL; the XDF holds all but about the last second."""
    gaze, mk, _ = _outlets(source_id)
    path = tmp_path / "killed.xdf"
    proc = subprocess.Popen([sys.executable, "-c", RECORD_SCRIPT, str(path), source_id + "-g", source_id + "-m"],
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "recording"
        time.sleep(1.0)  # let the inlets subscribe
        sent = 0
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end:
            gaze.push_chunk(np.column_stack([np.arange(sent, sent + 10), np.zeros(10)]).tolist())
            sent += 10
            time.sleep(0.02)
        mk.push_sample(["LAST"])
        time.sleep(1.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False)
    g = next(s for s in streams if s["info"]["name"][0] == "T-Gaze")
    got = g["time_series"][:, 0]
    assert len(got) >= sent - 500  # all but at most ~1 s at 500 Hz
    np.testing.assert_array_equal(got, np.arange(len(got)))
    m = next(s for s in streams if s["info"]["name"][0] == "T-Markers")
    assert [x[0] for x in m["time_series"]][-1:] == ["LAST"]
