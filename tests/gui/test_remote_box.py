"""The operator window hosts LabRecorder's remote control: tick the box, a lab script records into the output folder."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import pyxdf

from app.commands.gui import remote_control
from app.core.paths import DEMO_PROTOCOL
from app.gui.backend import Backend
from app.gui.main_window import MainWindow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _window(qtbot, out: Path, rc=remote_control) -> MainWindow:  # type: ignore[no-untyped-def]
    backend = Backend(lambda choice, listener: None, lambda timeout: [], None, None, rc)  # type: ignore[arg-type,return-value]
    w = MainWindow(backend, [DEMO_PROTOCOL], out, None, frame_ms=10)
    qtbot.addWidget(w)
    return w


def _answer(s: socket.socket) -> str:
    got = s.recv(4096).decode()
    assert got
    return got


def test_toggle_hosts_the_server_and_a_script_records(qtbot, tmp_path: Path, source_id: str) -> None:  # type: ignore[no-untyped-def]
    pylsl = pytest.importorskip("pylsl")
    out = tmp_path / "sessions"
    w = _window(qtbot, out)
    box = w.setup_page.remote
    port = _free_port()
    box.port.setValue(port)
    assert w.remote_server is None and box.status.text() == "off"
    box.enable.setChecked(True)  # what a click does
    assert w.remote_server is not None and w.remote_server.port == port
    assert f"127.0.0.1:{port}" in box.status.text()
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo("RCGui-Gaze", "Gaze", 2, 100, "double64", source_id))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"select all\n")
        assert _answer(s) == "OK"
        ctl = w.remote_server.controller  # type: ignore[attr-defined]
        ctl.selected = [i for i in ctl.selected if i.source_id() == source_id]  # only this test's stream
        s.sendall(b"filename {root:/etc}\n")
        assert "outside the data root" in _answer(s)
        s.sendall(b"filename {participant:P1} {task:pov} {modality:beh} {run:4}\n")
        assert _answer(s) == "OK"
        s.sendall(b"start\n")
        assert _answer(s) == "OK"
        time.sleep(0.5)
        for i in range(50):
            outlet.push_sample([float(i), 1.0])
            time.sleep(0.005)
        time.sleep(0.5)
        s.sendall(b"stop\n")
        assert _answer(s) == "OK"
    xdf = out / "sub-P1" / "ses-S001" / "beh" / "sub-P1_ses-S001_task-pov_run-004_beh.xdf"
    streams, _ = pyxdf.load_xdf(str(xdf), synchronize_clocks=False, dejitter_timestamps=False)
    assert [st["info"]["name"][0] for st in streams] == ["RCGui-Gaze"] and len(streams[0]["time_stamps"]) == 50
    box.enable.setChecked(False)
    assert w.remote_server is None and box.status.text() == "off"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_busy_port_is_shown_and_the_box_unticked(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, tmp_path / "out")
    box = w.setup_page.remote
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        box.port.setValue(taken.getsockname()[1])
        box.enable.setChecked(True)
        assert w.remote_server is None
        assert not box.enable.isChecked() and "cannot listen" in box.status.text()
    port = _free_port()
    box.enable.setChecked(True)
    box.port.setValue(port)  # a new port while listening: restarted there, as LabRecorder does
    assert w.remote_server is not None and w.remote_server.port == port
    w.close()  # closing the window stops the server
    assert w.remote_server is None


def test_box_disabled_without_a_backend_server(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, tmp_path / "out", rc=None)
    assert not w.setup_page.remote.isEnabled()
