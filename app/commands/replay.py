"""``povlab replay FILE``: publish a recorded gaze stream on LSL with its original timing and metadata.

FILE is any gaze file ``povlab detect`` reads (XDF, EyeLink EDF/ASC, CSV, BIDS physio); its
channels are mapped first (``--channels``/``--preset`` as everywhere), so a file that cannot be
mapped fails before anything is published (see :mod:`app.acquisition.replay`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    from app.commands.gaze_args import add_gaze_file_args

    p = sub.add_parser("replay", help="publish a recorded gaze stream (XDF, EDF, ASC, CSV, BIDS physio) in real time",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE", help=".xdf, .edf, .asc, .csv, or a BIDS *_physio.tsv.gz")
    p.add_argument("--source-id", default=None, metavar="ID", help="LSL source_id (default: <original>-replay)")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="time factor (2 = twice as fast)")
    p.add_argument("--screen", default=None, metavar="WxH",
                   help="screen size in px for normalised positions (default: the file's, else 1920x1080)")
    add_gaze_file_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.acquisition.replay import Replayer, prepare_replay
    from app.commands.streams import _screen

    screen = _screen(args.screen) if args.screen else None
    rec, how = prepare_replay(args.file, args.stream, args.channels, args.preset, screen)
    rep = Replayer(rec, source_id=args.source_id, speed=args.speed)
    rep.open()
    span = float(rec.time_stamps[-1] - rec.time_stamps[0]) / args.speed
    print(f"replay: {rec.name} ({rec.n_channels} channels, {len(rec.time_stamps)} samples, {span:.1f} s) "
          f"as source_id={rep.source_id}; {how}", flush=True)
    n = rep.run(lead_s=0.5)
    rep.close()
    print(f"replay: published {n} samples")
    return 0
