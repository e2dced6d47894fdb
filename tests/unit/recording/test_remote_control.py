"""LabRecorder remote control: its parsing rules (pure functions) and its server, over a real socket on 127.0.0.1.

The lines are what LabRecorder's README examples (Python, MATLAB) and the PyPI ``labrecorder-controller``
send; the expected paths are what LabRecorder's ``mainwindow.cpp`` makes of them.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from app.core.errors import RecordingError
from app.recording.remote_control import RemoteControl, RemoteControlServer
from app.recording.remote_protocol import (
    Command,
    RecordingTarget,
    apply_fields,
    parse_command,
    resolve_path,
    to_int,
)


class RecordingLog:
    """The controller side: records what the remote control asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.fail_start = False

    def select_streams(self, which: str) -> None:
        self.calls.append(("select", which))

    def refresh_streams(self) -> None:
        if self.fail_start:
            raise RuntimeError("liblsl: resolver broke")  # a library error no one expected
        self.calls.append(("update", None))

    def start_recording(self, path: Path) -> None:
        if self.fail_start:
            raise RecordingError("no LSL streams to record")
        self.calls.append(("start", path))

    def stop_recording(self) -> None:
        self.calls.append(("stop", None))


def _target(line: str) -> RecordingTarget:
    cmd = parse_command(line)
    assert cmd.kind == "filename"
    return apply_fields(RecordingTarget(), cmd.fields)


@pytest.mark.parametrize("line, kind", [
    ("start", "start"), ("  stop\r", "stop"), ("update", "update"), ("select all", "select_all"),
    ("select none", "select_none"), ("select   all please", "select_all"), ("filename", "filename"),
    ("filename {root:/x} select all", "filename"),  # filename wins, as in handleLine
    ("START", "ignored"), ("start now", "ignored"), ("dance", "ignored"), ("select", "ignored"), ("", "ignored"),
    ("\x00\udcff{", "ignored"),
])
def test_commands_as_labrecorder_reads_them(line: str, kind: str) -> None:
    assert parse_command(line).kind == kind


@pytest.mark.parametrize("line, rel", [
    pytest.param(r"filename {root:C:\Data\} {template:exp%n\%p_block_%b.xdf} {run:2} {participant:P003} "
                 r"{task:MemoryGuided}", "C:/Data/exp002/P003_block_MemoryGuided.xdf", id="readme-python"),
    pytest.param(r"filename {root:C:\Data\} {task:MemoryGuided} {template:s_%p_%n.xdf {modality:ieeg}",
                 "C:/Data/sub-P001/ses-S001/ieeg/sub-P001_ses-S001_task-MemoryGuided_run-001_ieeg.xdf",
                 id="readme-matlab-unclosed-template"),
    pytest.param("filename {root:root} {template:sub-%p\\ses-%s\\%m\\sub-%p_ses-%s_task-%b_run-%n_%m.xdf} "
                 "{task:task} {run:2} {participant:participant} {session:session} {acquisition:acquisition} "
                 "{modality:modality}",
                 "root/sub-participant/ses-session/modality/sub-participant_ses-session_task-task_run-002_modality.xdf",
                 id="labrecorder-controller-example"),
    pytest.param("filename {participant:07} {run:12}", "sub-07/ses-S001/eeg/sub-07_ses-S001_task-Default_run-012_eeg.xdf",
                 id="bids-mode"),
    pytest.param("filename {participant:07} {session:2} {task:pov} {acquisition:hi} {modality:BEH} {run:3}",
                 "sub-07/ses-2/beh/sub-07_ses-2_task-pov_acq-hi_run-003_beh.xdf", id="bids-mode-acq"),
    pytest.param("filename {Root:r} {PARTICIPANT:P9} {Template:EXP%N_%p.xdf}", "r/exp001_P9.xdf",
                 id="case-insensitive-keys-template-lowercased"),
    pytest.param("filename {colour:red} {participant:P2} {template:x_%p.xdf}", "x_P2.xdf", id="unknown-field-ignored"),
    pytest.param("filename {template:x_%n_%r.xdf} {run:abc}", "x_001_%r.xdf", id="run-abc-is-0-spinbox-min-1"),
    pytest.param("filename {run:5000}", "sub-P001/ses-S001/eeg/sub-P001_ses-S001_task-Default_run-1000_eeg.xdf",
                 id="run-spinbox-max"),
    pytest.param("filename {participant:} {participant:P5}",
                 "sub-P5/ses-S001/eeg/sub-P5_ses-S001_task-Default_run-001_eeg.xdf", id="empty-value-no-match"),
])
def test_filename_rules(line: str, rel: str, tmp_path: Path) -> None:
    target = _target(line)
    assert resolve_path(target, tmp_path) == tmp_path.resolve() / rel
    assert str(resolve_path(target, tmp_path)).endswith(target.relative_name())


def test_field_values() -> None:
    assert _target("filename {run:abc}").run == 0
    assert _target("filename {run: 7 }").run == 7
    assert _target("filename {run:99999999999}").run == 0
    assert [to_int(t) for t in ("12", "-3", "1e3", "", "٣")] == [12, -3, 0, 0, 0]
    assert _target("filename {template:A\\B.XDF}").template == "a\\b.xdf"
    assert parse_command("filename {ROOT:x} {Task:T}").fields == (("root", "x"), ("task", "T"))
    with pytest.raises(ValueError):
        Command("explode")


@pytest.mark.parametrize("line, match", [
    pytest.param("filename {root:/etc}", "outside the data root", id="absolute-outside"),
    pytest.param("filename {root:data/../../elsewhere}", "outside the data root", id="dotdot-root"),
    pytest.param("filename {template:../../etc/x.xdf}", "leaves the root", id="dotdot-template"),
    pytest.param("filename {template:/tmp/x.xdf}", "leaves the root", id="absolute-template"),
    pytest.param("filename {participant:" + "p" * 300 + "}", "at most 255 bytes", id="300-char-name"),
    pytest.param("filename {participant:a\x00b}", "NUL", id="nul-byte"),
    pytest.param("filename {root:afile}", "is a file", id="root-is-a-file"),
    pytest.param("filename {template:afile/x.xdf}", "is a file", id="parent-is-a-file"),
    pytest.param("filename {template:adir}", "is a directory", id="target-is-a-directory"),
])
def test_refused_targets(line: str, match: str, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    (tmp_path / "data").mkdir()
    with pytest.raises(RecordingError, match=match):
        resolve_path(_target(line), tmp_path)


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(RecordingError, match="outside the data root|leads outside"):
        resolve_path(_target("filename {template:link/x.xdf}"), root)


def test_interpreter_answers_and_confinement(tmp_path: Path) -> None:
    log = RecordingLog()
    rc = RemoteControl(log, tmp_path)
    assert rc.handle("dance") == "OK"  # LabRecorder answers OK to anything
    reply = rc.handle("filename {root:/etc} {participant:P7}")
    assert reply.startswith("ERROR") and "outside the data root" in reply
    assert rc.target.root == "" and rc.target.participant == "P7"  # the rest of the command is applied
    assert rc.handle("filename {participant:" + "x" * 300 + "}") == "OK"  # checked at start, as LabRecorder does
    reply = rc.handle("start")
    assert reply.startswith("ERROR") and "255" in reply
    assert log.calls == []  # nothing reached the recorder
    log.fail_start = True
    assert rc.handle("filename {participant:P1}") == "OK"
    assert rc.handle("start") == "ERROR no LSL streams to record"
    assert rc.handle("update") == "ERROR update failed: RuntimeError: liblsl: resolver broke"
    assert rc.handle("stop") == "OK"  # and the interpreter goes on


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk, "server closed the connection"
        buf += chunk
    return buf


def test_every_line_is_answered_ok_without_newline(tmp_path: Path) -> None:
    log = RecordingLog()
    with RemoteControlServer(log, port=0, data_root=tmp_path) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        lines = [b"select all\n", b"filename {root:C:\\Data\\} {template:exp%n\\%p_block_%b.xdf} {run:2} "
                 b"{participant:P003} {task:MemoryGuided}\n", b"start\n", b"stop\n", b"update\n", b"select none\n",
                 b"dance\n", b"\xff\xfe not utf-8\n", b"\r\n", b"\n"]
        s.sendall(b"".join(lines))  # all at once, as a script that never waits does
        assert _recv_exactly(s, 2 * len(lines)) == b"OK" * len(lines)
        s.settimeout(0.3)
        with pytest.raises(TimeoutError):
            s.recv(1)  # nothing more: no newline after OK
    assert log.calls == [
        ("select", "all"), ("start", tmp_path.resolve() / "C:/Data/exp002/P003_block_MemoryGuided.xdf"),
        ("stop", None), ("update", None), ("select", "none")]


def test_labrecorder_controller_package_drives_the_server(tmp_path: Path) -> None:
    lrc = pytest.importorskip("labrecorder_controller")
    log = RecordingLog()
    with RemoteControlServer(log, port=0, data_root=tmp_path) as server:
        rcs = lrc.labrecrcs(ip="localhost", port=server.port)
        rcs.update()
        rcs.select_all()
        rcs.filename(root="study", task="pov", run=2, participant="P01", session="S01", acquisition="et",
                     modality="beh")
        rcs.start()
        rcs.stop()
        rcs.select_none()
        _recv_exactly(rcs.s, 12)  # it never reads; the answers wait for it
        rcs.s.close()
    assert log.calls == [("update", None), ("select", "all"),
                         ("start", tmp_path.resolve() / "study/sub-P01/ses-S01/beh/sub-P01_ses-S01_task-pov_acq-et_run-002_beh.xdf"),
                         ("stop", None), ("select", "none")]


def test_hostile_clients_never_take_the_server_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = RecordingLog()
    with RemoteControlServer(log, port=0, data_root=tmp_path, max_clients=4, max_line=1024) as server:
        # hangs up before reading its answers (broken pipe on the server side)
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(b"update\n" * 50)
        # a line longer than the limit: one ERROR, then the connection is closed
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"x" * 5000)
            got = b""
            while chunk := s.recv(1024):
                got += chunk
            assert got.startswith(b"ERROR line longer than 1024 bytes")
        # more clients than allowed: the extra one is told and closed, the others keep working
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(4)]
        for h in held:
            h.sendall(b"update\n")
            assert _recv_exactly(h, 2) == b"OK"
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as extra:
            assert extra.recv(100).startswith(b"ERROR more than 4 connections")
        for h in held:
            h.close()
        # the server still answers, and it never made a thread per client
        names = [t.name for t in threading.enumerate()]
        assert names.count("povlab-rcs") == 1
        deadline = time.monotonic() + 10
        while server.clients and time.monotonic() < deadline:
            time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"filename {participant:a\x00b}\nstart\nstop\n")
            got = b""
            while not got.endswith(b"OK") or got.count(b"OK") < 2:
                got += s.recv(1024)
            assert got.startswith(b"OK") and b"ERROR" in got and b"NUL" in got
    assert "Traceback" not in caplog.text


def test_listens_on_loopback_only(tmp_path: Path) -> None:
    with RemoteControlServer(RecordingLog(), port=0, data_root=tmp_path) as server:
        assert server._listener.getsockname()[0] == "127.0.0.1"
    with pytest.raises(RecordingError, match="127.0.0.1 only"):
        RemoteControlServer(RecordingLog(), port=0, host="0.0.0.0", data_root=tmp_path)
    with pytest.raises(RecordingError, match="not a folder"):
        RemoteControlServer(RecordingLog(), port=0, data_root=tmp_path / "nope")


def test_seeded_hostile_lines_get_ok_or_error(tmp_path: Path) -> None:
    """Random commands built from LabRecorder's vocabulary and hostile values: an answer each, never an exception."""
    import random

    rng = random.Random(14)
    words = ["start", "stop", "update", "select all", "select none", "filename", "select", "{", "}", ":",
             "{root:", "{Root:", "{template:", "{run:", "{participant:", "{modality:", "{acquisition:", "..", "/",
             "\\", "\x00", "%n", "%r", "%p", "x" * 300, "\udcff", "é", " ", "\t", "/etc", "C:\\", "-1", "99999999999"]
    log = RecordingLog()
    rc = RemoteControl(log, tmp_path)
    for _ in range(2000):
        line = "".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        reply = rc.handle(line)
        assert reply == "OK" or reply.startswith("ERROR "), (line, reply)
    for kind, arg in log.calls:
        if kind == "start":
            assert isinstance(arg, Path) and tmp_path.resolve() in arg.parents  # always inside the data root


def test_default_line_limit_bounds_what_a_client_makes_the_server_hold(tmp_path: Path) -> None:
    with RemoteControlServer(RecordingLog(), port=0, data_root=tmp_path) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        sent = 0
        try:
            for _ in range(64):  # up to 64 MiB, no newline
                s.sendall(b"y" * (1 << 20))
                sent += 1
        except OSError:
            pass  # closed by the server: expected
        assert sent < 64  # the server stopped reading long before
        try:
            got = s.recv(100)
        except ConnectionResetError:  # the reset can overtake the answer on loopback
            got = None
        assert got is None or got.startswith(b"ERROR line longer than 65536 bytes")
