"""LabRecorder remote control: the commands lab scripts send, over a real socket on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.core.errors import RecordingError
from app.recording.remote_control import RecordingTarget, RemoteControl, RemoteControlServer, parse_filename


class RecordingLog:
    """The controller side: records what the remote control asked for (the session does the real work)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.fail_start = False

    def select_streams(self, which: str) -> None:
        self.calls.append(("select", which))

    def refresh_streams(self) -> None:
        self.calls.append(("update", None))

    def start_recording(self, target: RecordingTarget) -> None:
        if self.fail_start:
            raise RecordingError("no tracker stream")
        self.calls.append(("start", target.path()))

    def stop_recording(self) -> None:
        self.calls.append(("stop", None))


def _send(sock: socket.socket, line: bytes) -> str:
    sock.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1024)
        assert chunk, "server closed the connection"
        buf += chunk
    return buf.decode().strip()


def test_lab_script_drives_a_recording(tmp_path: Path) -> None:
    log = RecordingLog()
    with RemoteControlServer(log, port=0) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        assert _send(s, b"select all\n") == "OK"
        assert _send(s, b"filename {root:" + str(tmp_path).encode() + b"} {participant:P003} {session:S1} "
                        b"{task:MemoryGuided}\n") == "OK"
        assert _send(s, b"start\n") == "OK"
        assert _send(s, b"stop\n") == "OK"
        assert _send(s, b"update\n") == "OK"
        assert _send(s, b"select none\n") == "OK"
        assert _send(s, b"dance\n").startswith("ERROR unknown command")
    assert log.calls == [
        ("select", "all"),
        ("start", tmp_path / "sub-P003/ses-S1/sub-P003_ses-S1_task-MemoryGuided_run-001.xdf"),
        ("stop", None), ("update", None), ("select", "none")]


def test_failed_start_is_reported_to_the_script() -> None:
    log = RecordingLog()
    log.fail_start = True
    assert RemoteControl(log).handle("start") == "ERROR no tracker stream"


@pytest.mark.parametrize("line, expected", [
    pytest.param(r"filename {root:C:\Data\} {template:exp%n\%p_block_%b.xdf} {run:2} {participant:P003} "
                 r"{task:MemoryGuided}", Path("C:/Data/exp2/P003_block_MemoryGuided.xdf"), id="readme-example"),
    pytest.param("filename {root:/data} {template:s_%p_%n.xdf} {modality:ieeg}", Path("/data/s_P001_1.xdf"),
                 id="partial-fields"),
    pytest.param("filename {root:/d} {template:%m/%p_%s_%a.xdf} {acquisition:hi} {session:2}",
                 Path("/d/beh/P001_2_hi.xdf"), id="modality-acquisition"),
    pytest.param("filename {root:/d} {participant:07} {run:12}",
                 Path("/d/sub-07/ses-S001/sub-07_ses-S001_task-pov_run-012.xdf"), id="default-layout"),
])
def test_filename_templates(line: str, expected: Path) -> None:
    assert parse_filename(line, RecordingTarget()).path() == expected


@pytest.mark.parametrize("line, match", [
    pytest.param("filename {root:/d} {colour:red}", "unknown filename field", id="unknown-field"),
    pytest.param("filename {root:/d} {template:../../etc/x.xdf}", "leaves the root", id="traversal"),
    pytest.param("filename {run:two}", "not a number", id="bad-run"),
])
def test_bad_filename_commands(line: str, match: str) -> None:
    with pytest.raises(RecordingError, match=match):
        parse_filename(line, RecordingTarget()).path()


def test_listens_on_loopback_only() -> None:
    with RemoteControlServer(RecordingLog(), port=0) as server:
        assert server._server.server_address[0] == "127.0.0.1"
    with pytest.raises(RecordingError, match="127.0.0.1 only"):
        RemoteControlServer(RecordingLog(), port=0, host="0.0.0.0")
