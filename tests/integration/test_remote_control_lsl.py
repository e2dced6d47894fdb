"""A LabRecorder lab script drives a real recording: LSL outlets on loopback, commands over TCP, XDF checked
with pyxdf and mne-xdf. The script sends what LabRecorder's README example sends and never reads an answer
until the end (as the README's Python and MATLAB examples and ``labrecorder-controller`` do)."""

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


def _answers(sock: socket.socket, n: int) -> list[str]:
    """Read the answers to ``n`` lines: each is ``OK`` (2 bytes, no newline) or starts with ``ERROR``."""
    buf = b""
    while buf.count(b"OK") + buf.count(b"ERROR") < n or buf.endswith(b"ERROR"):
        chunk = sock.recv(4096)
        assert chunk, "server closed the connection"
        buf += chunk
    return buf.decode().replace("OK", "\x00OK").replace("ERROR", "\x00ERROR").split("\x00")[1:]


def _mine(controller: LslRecordingController, source_id: str) -> None:
    """Other tests' streams on this machine are not ours to record: keep the selection to this test's."""
    controller.selected = [i for i in controller.selected if i.source_id().startswith(source_id)]


def _push(gaze: object, mk: object) -> None:
    for i in range(20):
        gaze.push_chunk(np.column_stack([np.arange(10) + 10 * i, np.ones(10)]).tolist())  # type: ignore[attr-defined]
        if i % 5 == 0:
            mk.push_sample([f"TRIALID {i // 5 + 1}"])  # type: ignore[attr-defined]
        time.sleep(0.02)


def test_lab_script_records_streams(tmp_path: Path, source_id: str) -> None:
    gaze_info = pylsl.StreamInfo("RC-Gaze", "Gaze", 2, 250, "double64", source_id + "-g")
    chans = gaze_info.desc().append_child("channels")
    for label in ("x", "y"):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", "pixels")
        ch.append_child_value("type", "gaze")
    gaze = pylsl.StreamOutlet(gaze_info)
    mk = pylsl.StreamOutlet(pylsl.StreamInfo("RC-Markers", "Markers", 1, 0, "string", source_id + "-m"))
    gone = pylsl.StreamOutlet(pylsl.StreamInfo("RC-Gone", "EEG", 1, 100, "float32", source_id + "-x"))
    controller = LslRecordingController(resolve_s=1.0)
    folder = tmp_path / "study" / "sub-P003" / "ses-S1" / "beh"
    old = folder / "sub-P003_ses-S1_task-Mem_run-002_beh.xdf"
    folder.mkdir(parents=True)
    old.write_bytes(b"an earlier recording")
    (folder / "sub-P003_ses-S1_task-Mem_run-003_beh.xdf").mkdir()  # a folder where a file should go
    with RemoteControlServer(controller, port=0, data_root=tmp_path) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(b"select all\n")
        assert _answers(s, 1) == ["OK"]
        _mine(controller, source_id)
        assert len(controller.selected) == 3
        del gone  # vanishes after 'select all'
        s.sendall(b"filename {Root:study} {participant:P003} {session:S1} {task:Mem} {run:2} {modality:beh}\n"
                  b"start\n")
        assert _answers(s, 2) == ["OK", "OK"]
        assert any("RC-Gone" in w for w in controller.warnings)  # left out with a warning
        time.sleep(1.0)  # let the inlets subscribe
        _push(gaze, mk)
        time.sleep(0.5)
        s.sendall(b"stop\nfilename {run:3}\nstart\n")
        got = _answers(s, 3)
        assert got[:2] == ["OK", "OK"] and got[2].startswith("ERROR") and "is a directory" in got[2]
        s.sendall(b"filename {root:/etc}\n")
        got = _answers(s, 1)
        assert got[0].startswith("ERROR") and "outside the data root" in got[0]
    assert old.with_name("sub-P003_ses-S1_task-Mem_run-002_beh_old1.xdf").read_bytes() == b"an earlier recording"
    assert sorted(p.name for p in folder.iterdir()) == [  # nothing renamed for the refused start
        "sub-P003_ses-S1_task-Mem_run-002_beh.xdf", "sub-P003_ses-S1_task-Mem_run-002_beh_old1.xdf",
        "sub-P003_ses-S1_task-Mem_run-003_beh.xdf"]
    streams, header = pyxdf.load_xdf(str(old), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {st["info"]["name"][0]: st for st in streams}
    assert set(by_name) == {"RC-Gaze", "RC-Markers"}
    np.testing.assert_array_equal(by_name["RC-Gaze"]["time_series"][:, 0], np.arange(200))
    assert [m[0] for m in by_name["RC-Markers"]["time_series"]] == [f"TRIALID {k}" for k in range(1, 5)]
    mne_xdf = pytest.importorskip("mne_xdf")
    raw = mne_xdf.read_raw_xdf(str(old), stream_ids=[by_name["RC-Gaze"]["info"]["stream_id"]])
    assert raw.ch_names == ["x", "y"] and raw.n_times == 200
    assert list(raw.annotations.description) == [f"TRIALID {k}" for k in range(1, 5)]
    assert raw.info["meas_date"] is not None


def test_start_with_nothing_selected_records_every_stream(tmp_path: Path, source_id: str) -> None:
    gaze = pylsl.StreamOutlet(pylsl.StreamInfo("RC2-Gaze", "Gaze", 2, 250, "double64", source_id + "-g"))
    mk = pylsl.StreamOutlet(pylsl.StreamInfo("RC2-Markers", "Markers", 1, 0, "string", source_id + "-m"))
    controller = LslRecordingController(resolve_s=1.0)
    with RemoteControlServer(controller, port=0, data_root=tmp_path) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(b"select none\nfilename {template:exp%n\\%p.xdf} {participant:P1} {run:7}\nstart\n")
        assert _answers(s, 3) == ["OK", "OK", "OK"]
        time.sleep(1.0)
        _push(gaze, mk)
        time.sleep(0.5)
        t0 = time.monotonic()
        s.sendall(b"stop\n")
        assert _answers(s, 1) == ["OK"]
        print(f"stop took {time.monotonic() - t0:.2f} s")
    path = tmp_path / "exp007" / "P1.xdf"
    streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    names = {st["info"]["name"][0] for st in streams}
    assert {"RC2-Gaze", "RC2-Markers"} <= names  # LabRecorder's remote start ticks every visible stream
