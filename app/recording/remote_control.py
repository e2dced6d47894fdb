"""LabRecorder's remote-control protocol, so lab scripts written for LabRecorder drive POV Lab unchanged.

Protocol (LabRecorder's ``tcpinterface.cpp`` and README, "Remote Control"): one command per
line over TCP, default port 22345; the reply to each is ``OK`` and a newline (an unknown
command or a failed one gets ``ERROR <reason>``)::

    select all | select none | update | start | stop
    filename {root:C:\\Data\\} {template:exp%n\\%p_block_%b.xdf} {participant:P003} {session:S1}
             {task:MemoryGuided} {run:2} {acquisition:a} {modality:eeg}

Template placeholders as in LabRecorder: ``%p`` participant, ``%s`` session, ``%b`` task,
``%n`` and ``%r`` run, ``%a`` acquisition, ``%m`` modality. Without a template the recording
goes to POV Lab's own layout ``sub-%p/ses-%s/sub-%p_ses-%s_task-%b_run-%n.xdf`` (run as 3 digits).

Unlike LabRecorder (which listens on every interface), the server binds to 127.0.0.1 only:
anything else that could start or stop a recording from the network is refused.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from app.core.errors import PovLabError, RecordingError

DEFAULT_PORT = 22345
LOOPBACK = "127.0.0.1"
_FIELD = re.compile(r"\{(\w+):([^}]*)\}")
FIELDS = ("root", "template", "participant", "session", "task", "run", "acquisition", "modality")


@dataclass(frozen=True)
class RecordingTarget:
    """Where the next recording goes, as set by ``filename`` commands (fields keep their last value)."""

    root: str = "."
    template: str = ""
    participant: str = "P001"
    session: str = "S001"
    task: str = "pov"
    run: str = "1"
    acquisition: str = ""
    modality: str = "beh"

    def path(self) -> Path:
        """The XDF path this target names, LabRecorder's template rules applied."""
        try:
            run_n = int(self.run)
        except ValueError as exc:
            raise RecordingError(f"remote control: run {self.run!r} is not a number") from exc
        if self.template:
            out = self.template
            for key, value in (("%p", self.participant), ("%s", self.session), ("%b", self.task),
                               ("%n", str(run_n)), ("%r", str(run_n)), ("%a", self.acquisition),
                               ("%m", self.modality)):
                out = out.replace(key, value)
            rel = Path(out.replace("\\", "/"))
        else:
            p, s = self.participant, self.session
            rel = Path(f"sub-{p}") / f"ses-{s}" / f"sub-{p}_ses-{s}_task-{self.task}_run-{run_n:03d}.xdf"
        if rel.is_absolute() or ".." in rel.parts:
            raise RecordingError(f"remote control: template {self.template!r} leaves the root folder")
        return Path(self.root.replace("\\", "/")) / rel


class RecordingController(Protocol):
    """What the remote control drives; the session implements it."""

    def select_streams(self, which: str) -> None:
        """``"all"`` or ``"none"`` of the streams currently visible."""

    def refresh_streams(self) -> None: ...

    def start_recording(self, target: RecordingTarget) -> None: ...

    def stop_recording(self) -> None: ...


def parse_filename(line: str, current: RecordingTarget) -> RecordingTarget:
    """Apply the ``{key:value}`` fields of a ``filename`` command to the current target."""
    fields = dict(_FIELD.findall(line))
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise RecordingError(f"remote control: unknown filename field(s) {', '.join(unknown)}; "
                             f"known: {', '.join(FIELDS)}")
    return replace(current, **fields)


class RemoteControl:
    """The command interpreter, independent of the socket (one lock: commands run one at a time)."""

    def __init__(self, controller: RecordingController) -> None:
        self.controller = controller
        self.target = RecordingTarget()
        self._lock = threading.Lock()

    def handle(self, line: str) -> str:
        cmd = line.strip()
        low = cmd.lower()
        with self._lock:
            try:
                if low == "start":
                    self.controller.start_recording(self.target)
                elif low == "stop":
                    self.controller.stop_recording()
                elif low == "update":
                    self.controller.refresh_streams()
                elif low in ("select all", "select none"):
                    self.controller.select_streams(low.split()[1])
                elif low.startswith("filename"):
                    self.target = parse_filename(cmd, self.target)
                else:
                    return f"ERROR unknown command {cmd[:40]!r}"
            except PovLabError as exc:
                return f"ERROR {exc}"
        return "OK"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            self.wfile.write((self.server.control.handle(line) + "\n").encode("utf-8"))
            self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], control: RemoteControl) -> None:
        self.control = control
        super().__init__(address, _Handler)


class RemoteControlServer:
    """A TCP server on 127.0.0.1 speaking LabRecorder's remote-control protocol."""

    def __init__(self, controller: RecordingController, port: int = DEFAULT_PORT, host: str = LOOPBACK) -> None:
        if host not in (LOOPBACK, "localhost"):
            raise RecordingError(f"remote control: host {host!r} refused; it listens on {LOOPBACK} only")
        self.control = RemoteControl(controller)
        try:
            self._server = _Server((LOOPBACK, port), self.control)
        except OSError as exc:
            raise RecordingError(f"remote control: cannot listen on {LOOPBACK}:{port} ({exc.strerror})") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, name="povlab-rcs", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> RemoteControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()  # returns once serve_forever has stopped
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> RemoteControlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
