"""``povlab remote``: accept LabRecorder's remote-control commands on 127.0.0.1 and record LSL streams to XDF."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("remote", help="LabRecorder remote control on 127.0.0.1: lab scripts start/stop recordings")
    p.add_argument("--port", type=int, default=22345, help="TCP port (default 22345, LabRecorder's)")
    p.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                   help="data root: every recording goes inside it; a {root:...} elsewhere is refused "
                        "(default: the current folder)")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="serve for S seconds (default: until Ctrl-C)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.core.errors import PovLabError
    from app.recording.lsl_controller import LslRecordingController
    from app.recording.remote_control import RemoteControlServer

    if not 0 <= args.port <= 65535:
        raise PovLabError(f"--port {args.port}: expected 0-65535")
    if not args.root.is_dir():
        raise PovLabError(f"--root {args.root}: not a folder (create it first)")
    controller = LslRecordingController()
    with RemoteControlServer(controller, port=args.port, data_root=args.root) as server:
        print(f"listening on 127.0.0.1:{server.port}, recording into {args.root.resolve()} "
              "(select all | filename {...} | start | stop | update)", flush=True)
        try:
            threading.Event().wait(args.duration)
        finally:
            controller.stop_recording()
    return 0
