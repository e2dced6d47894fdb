"""A private X server (Xvfb with GLX) for tests, benchmarks and demos on machines without a screen.

Xvfb picks a free display number itself (``-displayfd``), so parallel runs never collide;
:meth:`Xvfb.stop` ends only the server this object started.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time

from app.core.errors import PresentationError


class Xvfb:
    def __init__(self, width: int = 1920, height: int = 1080, timeout_s: float = 15.0) -> None:
        self.size = (width, height)
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.display: str | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("Xvfb") is not None

    def start(self) -> str:
        exe = shutil.which("Xvfb")
        if exe is None:
            raise PresentationError("Xvfb is not installed (apt-get install xvfb libgl1 libglu1-mesa)")
        rfd, wfd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [exe, "-displayfd", str(wfd), "-screen", "0", f"{self.size[0]}x{self.size[1]}x24",
                 "+extension", "GLX", "-nolisten", "tcp", "-noreset"],
                pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(wfd)
        try:
            number = b""
            deadline = time.monotonic() + self.timeout_s
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    self.stop()
                    raise PresentationError("Xvfb did not start (no display number reported)")
                ready, _, _ = select.select([rfd], [], [], left)
                if ready:
                    chunk = os.read(rfd, 16)
                    if not chunk:
                        self.stop()
                        raise PresentationError("Xvfb exited before reporting its display number")
                    number += chunk
        finally:
            os.close(rfd)
        self.display = f":{number.decode().strip()}"
        return self.display

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
