"""``povlab replay FILE``: publish a recorded gaze stream on LSL with its original timing and metadata."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="publish a recorded gaze stream (XDF or BIDS physio) in real time")
    p.add_argument("file", type=Path, metavar="FILE", help="an .xdf file, or a BIDS *_physio.tsv.gz with its .json")
    p.add_argument("--source-id", default=None, metavar="ID", help="LSL source_id (default: <original>-replay)")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="time factor (2 = twice as fast)")
    p.add_argument("--stream", default=None, metavar="NAME", help="which stream of the XDF (default: the gaze one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.acquisition.replay import Replayer, load_recording

    rec = load_recording(args.file, args.stream)
    rep = Replayer(rec, source_id=args.source_id, speed=args.speed)
    rep.open()
    span = float(rec.time_stamps[-1] - rec.time_stamps[0]) / args.speed
    print(f"replay: {rec.name} ({rec.n_channels} channels, {len(rec.time_stamps)} samples, {span:.1f} s) "
          f"as source_id={rep.source_id}", flush=True)
    n = rep.run(lead_s=0.5)
    rep.close()
    print(f"replay: published {n} samples")
    return 0
