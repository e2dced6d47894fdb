"""LabRecorder's remote control over TCP, so lab scripts written for LabRecorder drive POV Lab unchanged.

Protocol (LabRecorder's ``tcpinterface.cpp``, ``mainwindow.cpp`` and README, "Remote Control"): one
command per line, default port 22345; every line is answered ``OK`` -- two bytes, no newline, as
LabRecorder writes it -- also lines it does not know::

    select all | select none | update | start | stop
    filename {root:C:\\Data\\} {template:exp%n\\%p_block_%b.xdf} {participant:P003} {session:S1}
             {task:MemoryGuided} {run:2} {acquisition:a} {modality:eeg}

The rules of each command are in :mod:`app.recording.remote_protocol`. Where LabRecorder would
show a dialog instead of recording (a path that is a folder, no stream to record) and where POV
Lab refuses more than it does (a root outside the data root, a NUL byte, an over-long name), the
answer is ``ERROR <reason>`` (no newline either) and the server logs one line; nothing was created
or renamed. A server never prints a traceback: a client that hangs up, sends bytes that are not
UTF-8 or a line over :data:`MAX_LINE` bytes only loses its own connection.

Unlike LabRecorder (which listens on every interface), the server binds to 127.0.0.1 only. One
thread serves every client (``selectors``): at most :data:`MAX_CLIENTS` connections at once (the
next is told ``ERROR`` and closed), each holding at most :data:`MAX_LINE` bytes of input and
:data:`MAX_PENDING` bytes of unread answers (a client that never reads, like the PyPI
``labrecorder-controller``, simply misses answers beyond that).
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.core.errors import PovLabError, RecordingError
from app.recording.remote_protocol import RecordingTarget, apply_fields, parse_command, resolve_path, resolve_root

log = logging.getLogger(__name__)

DEFAULT_PORT = 22345
LOOPBACK = "127.0.0.1"
MAX_LINE = 64 * 1024  # bytes of one command line
MAX_CLIENTS = 16  # connections at once
MAX_PENDING = 64 * 1024  # unread answer bytes kept per client


class RecordingController(Protocol):
    """What the remote control drives (:class:`~app.recording.lsl_controller.LslRecordingController`)."""

    def select_streams(self, which: str) -> None:
        """``"all"`` or ``"none"`` of the streams currently visible."""

    def refresh_streams(self) -> None: ...

    def start_recording(self, path: Path) -> None:
        """Record into ``path`` (already checked to be inside the data root)."""

    def stop_recording(self) -> None: ...


class RemoteControl:
    """The command interpreter, independent of the socket (one lock: commands run one at a time)."""

    def __init__(self, controller: RecordingController, data_root: Path | str = ".") -> None:
        self.controller = controller
        self.data_root = Path(data_root)
        self.target = RecordingTarget()
        self._lock = threading.Lock()

    def handle(self, line: str) -> str:
        """The answer to one line: ``OK`` or ``ERROR <reason>``; never raises."""
        cmd = parse_command(line)
        with self._lock:
            try:
                if cmd.kind == "start":
                    self.controller.start_recording(resolve_path(self.target, self.data_root))
                elif cmd.kind == "stop":
                    self.controller.stop_recording()
                elif cmd.kind == "update":
                    self.controller.refresh_streams()
                elif cmd.kind in ("select_all", "select_none"):
                    self.controller.select_streams(cmd.kind.split("_")[1])
                elif cmd.kind == "filename":
                    self._filename(cmd.fields)
                else:
                    log.info("remote control: ignored %r (not a LabRecorder command)", line[:80])
            except PovLabError as exc:
                msg = str(exc)
                log.error("%s", msg if msg.startswith("remote control") else f"remote control: {msg}")
                return f"ERROR {msg}"
            except (OSError, ValueError) as exc:  # a path the file system refuses, a stream that went away
                log.error("remote control: %s failed: %s", cmd.kind, exc)
                return f"ERROR {cmd.kind} failed: {exc}"
            except Exception as exc:  # the server outlives any command: one line, never a traceback
                log.error("remote control: %s failed unexpectedly: %s: %s", cmd.kind, type(exc).__name__, exc)
                log.debug("remote control: %s", cmd.kind, exc_info=True)
                return f"ERROR {cmd.kind} failed: {type(exc).__name__}: {exc}"
        return "OK"

    def _filename(self, fields: tuple[tuple[str, str], ...]) -> None:
        target = apply_fields(self.target, fields)
        if target.root != self.target.root:
            try:
                resolve_root(target.root, self.data_root)
            except RecordingError:
                self.target = apply_fields(self.target, tuple(f for f in fields if f[0] != "root"))
                raise
        self.target = target


@dataclass
class _Client:
    sock: socket.socket
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    closing: bool = False


class RemoteControlServer:
    """A TCP server on 127.0.0.1 speaking LabRecorder's remote-control protocol, in one thread."""

    def __init__(self, controller: RecordingController, port: int = DEFAULT_PORT, host: str = LOOPBACK,
                 data_root: Path | str = ".", max_clients: int = MAX_CLIENTS, max_line: int = MAX_LINE) -> None:
        if host not in (LOOPBACK, "localhost"):
            raise RecordingError(f"remote control: host {host!r} refused; it listens on {LOOPBACK} only")
        if not 0 <= port <= 65535:
            raise RecordingError(f"remote control: port {port}: expected 0-65535")
        root = Path(data_root)
        if not root.is_dir():
            raise RecordingError(f"remote control: data root {root} is not a folder")
        self.control = RemoteControl(controller, root)
        self.max_clients, self.max_line = max_clients, max_line
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((LOOPBACK, port))
            self._listener.listen(max_clients)
        except OSError as exc:
            self._listener.close()
            raise RecordingError(f"remote control: cannot listen on {LOOPBACK}:{port} ({exc.strerror})") from exc
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._clients: dict[socket.socket, _Client] = {}
        self._refused, self._refused_logged = 0, -1e9
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="povlab-rcs", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def clients(self) -> int:
        return len(self._clients)

    def start(self) -> RemoteControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._wake_w.send(b"x")
            self._thread.join()
        for c in list(self._clients.values()):
            self._drop(c)
        self._sel.close()
        for s in (self._listener, self._wake_r, self._wake_w):
            s.close()

    def __enter__(self) -> RemoteControlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop ---------------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, events in self._sel.select(timeout=1.0):
                if key.data == "wake":
                    return
                if key.data is None:
                    self._accept()
                    continue
                client: _Client = key.data
                if events & selectors.EVENT_READ:
                    self._read(client)
                if events & selectors.EVENT_WRITE and client.sock in self._clients:
                    self._flush(client)

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError:
            return  # the client gave up before we got to it
        if len(self._clients) >= self.max_clients:
            self._refused += 1
            now = time.monotonic()
            if now - self._refused_logged >= 10.0:  # one line per burst, not one per connection
                log.warning("remote control: more than %d clients at once; %d connection(s) refused",
                            self.max_clients, self._refused)
                self._refused, self._refused_logged = 0, now
            try:
                sock.send(f"ERROR more than {self.max_clients} connections".encode())
            except OSError:
                pass  # it is being closed anyway
            sock.close()
            return
        sock.setblocking(False)
        client = _Client(sock)
        self._clients[sock] = client
        self._sel.register(sock, selectors.EVENT_READ, client)

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        client.inbox += data
        while not client.closing:
            nl = client.inbox.find(b"\n")
            if nl < 0:
                if len(client.inbox) > self.max_line:
                    log.error("remote control: a line over %d bytes; connection closed", self.max_line)
                    client.inbox.clear()
                    self._answer(client, f"ERROR line longer than {self.max_line} bytes")
                    client.closing = True
                break
            raw = bytes(client.inbox[:nl])
            del client.inbox[:nl + 1]
            if len(raw) > self.max_line:
                self._answer(client, f"ERROR line longer than {self.max_line} bytes")
                continue
            # LabRecorder answers every line, an empty one too
            self._answer(client, self.control.handle(raw.decode("utf-8", "replace")))
        if client.closing and not client.outbox:
            self._drop(client)

    def _answer(self, client: _Client, reply: str) -> None:
        if len(client.outbox) < MAX_PENDING:
            client.outbox += reply.encode("utf-8")
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        if client.sock not in self._clients:
            return
        try:
            while client.outbox:
                n = client.sock.send(client.outbox)
                del client.outbox[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # the client hung up (broken pipe, reset): its answers go nowhere
            self._drop(client)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbox else 0)
        self._sel.modify(client.sock, events, client)
        if client.closing and not client.outbox:
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        if self._clients.pop(client.sock, None) is None:
            return
        try:
            self._sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass  # already gone from the selector
        client.sock.close()
