"""``povlab bench remote``: the remote-control server under hostile clients -- memory, threads, refusals.

Starts ``povlab remote`` in a child process (its own memory), then: one client sends a line of
``--line-mib`` MiB without a newline; ``--clients`` clients connect at once; a last client sends a
NUL byte in a file name and ``start``. Reported: the child's peak resident memory (``VmHWM``) and
thread count from ``/proc`` (Linux), how many clients were served or told ``ERROR``, the answers of the
last client, and whether the child's stderr holds a traceback.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--line-mib", type=int, default=200, help="length of the hostile line in MiB (default 200)")
    parser.add_argument("--clients", type=int, default=300, help="clients connecting at once (default 300)")


def _status(pid: int, key: str) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux, or the child is gone: the figure is reported as n/a
    return "n/a"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.errors import PovLabError

    if args.line_mib < 1 or args.clients < 1:
        raise PovLabError("bench remote: --line-mib and --clients must be at least 1")
    root = Path(tempfile.mkdtemp(prefix="povlab-bench-remote-"))
    port = _free_port()
    child = subprocess.Popen([sys.executable, "-m", "app", "remote", "--root", str(root), "--port", str(port),
                              "--duration", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # "listening on ..."
        rss_start = _status(child.pid, "VmRSS")
        sent = 0
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(args.line_mib):
                    s.sendall(chunk)
                    sent += 1
            except OSError:
                pass  # the server closed the connection: what this measures
        conns: list[socket.socket] = []
        for _ in range(args.clients):
            try:
                conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break
        time.sleep(0.5)
        threads = _status(child.pid, "Threads")
        refused = 0
        for c in conns:
            c.settimeout(1.0)
            try:
                refused += c.recv(100).startswith(b"ERROR")
            except OSError:
                pass  # served clients say nothing until they send a line
            c.close()
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"filename {participant:a\x00b}\nstart\n")
            time.sleep(0.5)
            answers = s.recv(500).decode("utf-8", "replace")
        peak = _status(child.pid, "VmHWM")
    finally:
        child.terminate()
        _, err = child.communicate(timeout=30)
    figures = {"line_mib": args.line_mib, "mib_accepted_before_close": sent, "clients": args.clients,
               "clients_refused": refused, "clients_served": len(conns) - refused, "threads_with_clients": threads,
               "rss_start": rss_start, "rss_peak": peak, "last_client_answers": answers,
               "traceback_on_stderr": "Traceback" in err}
    for k, v in figures.items():
        print(f"{k}: {v}")
    return figures
