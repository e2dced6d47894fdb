"""``povlab export SESSION_DIR --bids OUT_DIR``: add a session to a BIDS dataset (eye-tracking, BEP020)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a session folder to a BIDS 1.11 dataset (adds to an existing one)")
    p.add_argument("session_dir", type=Path, metavar="SESSION_DIR", help="folder sub-<p>/ses-<s> of a recording")
    p.add_argument("--bids", type=Path, required=True, metavar="OUT_DIR", help="BIDS dataset folder (created if needed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runfolder.bids_export import export_session

    report = export_session(args.session_dir, args.bids)
    for line in report.losses:
        print(f"warning: {line}")
    print(f"exported {', '.join(report.runs)} ({report.samples} gaze samples, {len(report.files)} files) "
          f"into {report.dataset}")
    return 0
