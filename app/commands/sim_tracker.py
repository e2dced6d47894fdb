"""``povlab sim-tracker``: a simulated eye tracker on LSL (realistic gaze at 60-2000 Hz)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim-tracker", help="publish simulated gaze on LSL, like a tracker's LSL app")
    p.add_argument("--rate", type=float, default=1000.0, metavar="HZ", help="sampling rate, 60..2000 (default 1000)")
    p.add_argument("--protocol", type=Path, default=None, metavar="P",
                   help="protocol whose trials to look at, following the PovLab-Markers stream")
    p.add_argument("--markers-source-id", default=None, metavar="ID", help="follow only this markers stream")
    p.add_argument("--precision", type=float, default=0.05, metavar="DEG", help="RMS sample-to-sample (deg)")
    p.add_argument("--accuracy", type=float, default=0.0, metavar="DEG",
                   help="constant accuracy offset (deg, applied to x and y / sqrt 2)")
    p.add_argument("--source-id", default=None, metavar="ID", help="LSL source_id (default: a random one)")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds (default: Ctrl-C)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="random seed")
    p.add_argument("--chunk-ms", type=float, default=10.0, metavar="MS", help="time between pushes (default 10)")
    p.add_argument("--no-blinks", action="store_true", help="no blinks and no track loss")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.acquisition.sim_tracker import SimulatedTracker
    from app.core.errors import TrackerError
    from app.core.protocol import load_protocol
    from app.core.synthetic_gaze import SimParams

    if args.duration is not None and args.duration <= 0:
        raise TrackerError(f"--duration must be > 0 s, got {args.duration:g}")
    off = args.accuracy / 2 ** 0.5
    defaults = SimParams()
    params = SimParams(precision_rms_s2s_deg=args.precision, accuracy_offset_deg=(off, off),
                       blink_rate_per_min=0.0 if args.no_blinks else defaults.blink_rate_per_min,
                       track_loss_prob=0.0 if args.no_blinks else defaults.track_loss_prob)
    protocol = load_protocol(args.protocol) if args.protocol else None
    sim = SimulatedTracker(args.rate, params=params, protocol=protocol, source_id=args.source_id,
                           markers_source_id=args.markers_source_id, seed=args.seed, chunk_s=args.chunk_ms / 1000.0)
    sim.start()
    until = "" if args.duration is None else f" for {args.duration:g} s"
    print(f"sim-tracker: publishing {sim.info.name()} source_id={sim.source_id} at {args.rate:g} Hz{until}"
          f"{' following ' + str(args.protocol) if protocol else ''}; Ctrl-C to stop", flush=True)
    try:
        end = None if args.duration is None else time.monotonic() + args.duration
        while end is None or time.monotonic() < end:
            time.sleep(0.05 if end is None else max(0.0, min(0.05, end - time.monotonic())))
    finally:
        sim.stop()
    print(f"sim-tracker: published {sim.samples_pushed} samples")
    return 0
