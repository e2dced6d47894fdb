"""``povlab streams``: list the gaze streams visible on LSL (name, source_id, rate, channels, host).

With ``--check`` it connects to one tracker stream, maps its channels (metadata, preset or
``--channels``) and reads it for ``--seconds``, printing the counters: the quick test of a new
tracker set-up. No stream within ``--timeout`` or channels that cannot be mapped give one error
line and exit code 2.
"""

from __future__ import annotations

import argparse
import time


def add_parser(sub: argparse._SubParsersAction) -> None:
    from app.commands.gaze_args import add_gaze_file_args

    p = sub.add_parser("streams", help="list the gaze streams visible on LSL (--check: read one)")
    p.add_argument("--timeout", type=float, default=2.0, metavar="S", help="seconds to wait for streams (default 2)")
    p.add_argument("--all", action="store_true", help="list every stream, not only gaze streams")
    p.add_argument("--source-id", default=None, metavar="ID", help="only the stream with this source_id")
    p.add_argument("--name", default=None, metavar="NAME", help="only the stream with this name")
    p.add_argument("--check", action="store_true", help="connect to the one tracker stream and read it")
    p.add_argument("--seconds", type=float, default=1.0, metavar="S", help="how long --check reads (default 1)")
    add_gaze_file_args(p, stream=False)
    p.add_argument("--screen", default="1920x1080", metavar="WxH", help="screen size in px for normalised units")
    p.set_defaults(func=run)


def _screen(text: str) -> tuple[int, int]:
    from app.core.errors import TrackerError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise TrackerError(f"--screen: expected WIDTHxHEIGHT in pixels, e.g. 1920x1080, got {text!r}") from exc
    return w, h


def run(args: argparse.Namespace) -> int:
    from app.acquisition.discovery import find_streams

    if args.check:
        return _check(args)
    found = find_streams(name=args.name, source_id=args.source_id, timeout=args.timeout, gaze_only=not args.all)
    if not found:
        print(f"no {'' if args.all else 'gaze '}streams found within {args.timeout:g} s")
        return 0
    screen = _screen(args.screen)
    for d in found:
        print(d.summary())
        if d.channel_format != "string":
            print(f"    {d.layout_line(screen)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from app.acquisition.inlet import GazeAcquisition

    acq = GazeAcquisition.connect(name=args.name, source_id=args.source_id, timeout=args.timeout,
                                  screen_px=_screen(args.screen), mapping=args.channels, preset=args.preset)
    cm = acq.channel_map
    print(f"{acq.stream.summary()}\nlayout: {cm.describe()}\nchannel map ({cm.source}): "
          + ", ".join(f"{s}={i}" for s, i in cm.indices().items()) + f", unit={cm.unit}")
    acq.start()
    time.sleep(max(args.seconds, 0.0))
    acq.stop()
    c = acq.counters
    block = acq.buffer.snapshot()
    valid = block.valid
    where = (f", mean gaze ({block.x[valid].mean():.0f}, {block.y[valid].mean():.0f}) px" if valid.any() else "")
    print(f"received {c.received}, lost {c.lost}, invalid {c.invalid}, gaps {c.gaps}{where}")
    return 0
