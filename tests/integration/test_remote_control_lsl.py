"""A LabRecorder lab script drives a real recording: LSL outlets on loopback, commands over TCP, XDF checked with pyxdf."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.recording.lsl_controller import LslRecordingController
from app.recording.remote_control import RemoteControlServer

pylsl = pytest.importorskip("pylsl")


def _send(sock: socket.socket, line: str) -> str:
    sock.sendall(line.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1024)
        assert chunk
        buf += chunk
    return buf.decode().strip()


def test_lab_script_records_streams(tmp_path: Path, source_id: str) -> None:
    gaze = pylsl.StreamOutlet(pylsl.StreamInfo("RC-Gaze", "Gaze", 2, 250, "double64", source_id + "-g"))
    mk = pylsl.StreamOutlet(pylsl.StreamInfo("RC-Markers", "Markers", 1, 0, "string", source_id + "-m"))
    controller = LslRecordingController(resolve_s=1.0)
    old = tmp_path / "sub-P003" / "ses-S1" / "sub-P003_ses-S1_task-Mem_run-001.xdf"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an earlier recording")
    with RemoteControlServer(controller, port=0) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        assert _send(s, "select all") == "OK"
        mine = [i for i in controller.selected if i.source_id().startswith(source_id)]
        assert len(mine) == 2
        controller.selected = mine  # other tests' streams on this machine are not ours to record
        assert _send(s, f"filename {{root:{tmp_path}}} {{participant:P003}} {{session:S1}} {{task:Mem}}") == "OK"
        assert _send(s, "start") == "OK"
        time.sleep(1.0)  # let the inlets subscribe
        for i in range(20):
            gaze.push_chunk(np.column_stack([np.arange(10) + 10 * i, np.ones(10)]).tolist())
            if i % 5 == 0:
                mk.push_sample([f"TRIALID {i // 5 + 1}"])
            time.sleep(0.02)
        time.sleep(0.5)
        assert _send(s, "stop") == "OK"
        assert _send(s, "start").startswith("OK")  # a second recording of the same name...
        assert _send(s, "stop") == "OK"
    # ...never overwrote anything: LabRecorder's _oldN renaming
    assert (old.parent / "sub-P003_ses-S1_task-Mem_run-001_old1.xdf").read_bytes() == b"an earlier recording"
    first = old.parent / "sub-P003_ses-S1_task-Mem_run-001_old2.xdf"
    streams, _ = pyxdf.load_xdf(str(first), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {st["info"]["name"][0]: st for st in streams}
    np.testing.assert_array_equal(by_name["RC-Gaze"]["time_series"][:, 0], np.arange(200))
    assert [m[0] for m in by_name["RC-Markers"]["time_series"]] == [f"TRIALID {k}" for k in range(1, 5)]
    assert old.is_file()  # the second, short recording
