"""``povlab bench ingest``: a simulated tracker in a subprocess, acquisition in this process.

Figures: samples received and lost (inside the stream, and against the span of time stamps),
CPU time of the acquisition worker thread and of this whole process (which also holds liblsl's
receiving threads) as a percentage of one core, peak and final RSS and the ring buffer's size.
The tracker runs in its own process so that its CPU is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=2000.0, metavar="HZ", help="tracker rate (default 2000)")
    parser.add_argument("--duration", type=float, default=600.0, metavar="S", help="seconds (default 600)")
    parser.add_argument("--buffer-s", type=float, default=120.0, metavar="S", help="ring buffer length (default 120)")


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from app.acquisition.inlet import GazeAcquisition
    from app.core.errors import TrackerError

    if args.duration <= 0 or args.rate <= 0:
        raise TrackerError("bench ingest: --rate and --duration must be > 0")
    sid = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    cmd = [sys.executable, "-m", "app.cli", "sim-tracker", "--rate", f"{args.rate:g}", "--duration",
           f"{args.duration + 3:g}", "--source-id", sid, "--seed", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        acq = GazeAcquisition.connect(source_id=sid, timeout=15.0, buffer_s=args.buffer_s)
        acq.start()
        deadline = time.monotonic() + 10.0
        while acq.counters.received == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        c0 = acq.counters
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        w0 = time.monotonic()
        while time.monotonic() - w0 < args.duration:
            time.sleep(min(1.0, args.duration - (time.monotonic() - w0)))
            if acq.counters.error:
                break
        c1 = acq.counters
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic() - w0
        block = acq.buffer.snapshot()
        acq.stop()
    finally:
        proc.terminate()
        proc.wait(10)
    received = c1.received - c0.received
    span = (c1.last_timestamp or 0.0) - (c0.last_timestamp or 0.0)
    expected = int(round(span * args.rate)) if c0.last_timestamp is not None else 0
    steps = np.diff(block.t)
    proc_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return {
        "rate_hz": args.rate,
        "duration_s": round(wall, 2),
        "samples_received": received,
        "samples_expected_from_span": expected,
        "samples_missing_vs_span": max(expected - received, 0),
        "samples_lost": c1.lost,
        "gaps": c1.gaps,
        "worker_error": c1.error,
        "acq_thread_cpu_pct_one_core": round(100.0 * (c1.cpu_s - c0.cpu_s) / wall, 2),
        "acq_process_cpu_pct_one_core": round(100.0 * proc_cpu / wall, 2),
        "rss_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(ru1.ru_maxrss / 1024.0, 1),
        "ring_buffer_s": args.buffer_s,
        "ring_buffer_mb": round(acq.buffer.capacity * 4 * 8 / 1e6, 2),  # 4 float64 rows
        "max_step_ms": round(float(steps.max()) * 1000, 3) if len(steps) else None,
    }
