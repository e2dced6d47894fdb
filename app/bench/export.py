"""``povlab bench export``: an hour of 1000 Hz binocular gaze exported to BIDS and bundled (target: under 10 s).

The session folder is synthesised first (``synth_session``, XDF written directly) and not
timed; then ``export_session`` (XDF read, per-eye physio and physioevents, events,
sourcedata copy) and ``bundle_session`` (zip, sha256 of every file, whole-file seal) are timed
separately, and ``verify_bundle`` as a third figure. Wall-clock figures depend on what else
the machine runs; the CPU seconds of the process are reported beside them.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the synthetic session (default 60)")
    parser.add_argument("--rate", type=float, default=1000.0, help="gaze sampling rate in Hz (default 1000)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the files (default: a temp folder)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.errors import PovLabError
    from app.runfolder.bids_export import export_session
    from app.runfolder.bundle import bundle_session, verify_bundle
    from app.runfolder.synthetic import make_session

    if args.minutes <= 0 or args.rate <= 0:
        raise PovLabError("bench export: --minutes and --rate must be positive")
    work = Path(tempfile.mkdtemp(prefix="povlab-bench-export-", dir=args.workdir))
    try:
        t = time.perf_counter()
        folder = make_session(work / "data", duration_s=args.minutes * 60, rate=args.rate)
        synth_s = time.perf_counter() - t
        xdf_mb = sum(p.stat().st_size for p in folder.glob("*.xdf")) / 1e6
        t, c = time.perf_counter(), time.process_time()
        report = export_session(folder, work / "bids")
        export_s = time.perf_counter() - t
        t = time.perf_counter()
        b = bundle_session(folder, work / "session.zip")
        bundle_s = time.perf_counter() - t
        cpu_s = time.process_time() - c  # CPU seconds of all threads: less sensitive to a busy machine
        t = time.perf_counter()
        ok = verify_bundle(b.path).ok
        verify_s = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "benchmark": "export", "minutes": args.minutes, "rate_hz": args.rate, "gaze_samples": report.samples,
        "xdf_mb": round(xdf_mb, 1), "bundle_mb": round(b.bytes / 1e6, 1), "synth_s": round(synth_s, 2),
        "export_s": round(export_s, 2), "bundle_s": round(bundle_s, 2), "export_plus_bundle_s":
        round(export_s + bundle_s, 2), "export_plus_bundle_cpu_s": round(cpu_s, 2), "verify_s": round(verify_s, 2), "verified": ok,
        "target_s": 10.0, "within_target": export_s + bundle_s < 10.0,
    }
