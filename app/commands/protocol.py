"""``povlab protocol new|check``: make a protocol from a folder of images and a captions CSV; check one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.errors import ProtocolError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from app.study.authoring import ProtocolOptions

    d = ProtocolOptions()
    p = sub.add_parser("protocol", help="make a protocol from images and a captions CSV, or check one")
    psub = p.add_subparsers(dest="protocol_command", metavar="ACTION")
    psub.required = True

    n = psub.add_parser("new", help="images folder + captions CSV (image,caption[,expected][,practice]) -> TOML",
                        description="Every row of the CSV becomes a trial; every image of the folder needs a row. "
                                    "The new file is checked as 'protocol check' does before it is written.")
    n.add_argument("--images", type=Path, required=True, metavar="DIR")
    n.add_argument("--captions", type=Path, required=True, metavar="FILE.csv")
    n.add_argument("--out", type=Path, required=True, metavar="P.toml", help="never overwritten")
    n.add_argument("--name", help="protocol name (default: the file name)")
    n.add_argument("--screen-px", type=int, nargs=2, metavar=("W", "H"), default=d.screen_px)
    n.add_argument("--screen-cm", type=float, nargs=2, metavar=("W", "H"), default=d.screen_cm)
    n.add_argument("--distance-cm", type=float, metavar="D", default=d.distance_cm)
    n.add_argument("--font", type=Path, metavar="FONT.ttf", help="default: the bundled DejaVu Sans")
    for key in ("font_size_px", "caption_top_px", "caption_max_width_px", "image_top_px", "image_max_width_px",
                "image_max_height_px", "fixation_cross_s", "max_trial_s", "inter_trial_s"):
        n.add_argument("--" + key.replace("_", "-"), type=float, metavar="N", default=getattr(d, key),
                       help=f"default {getattr(d, key):g}")
    n.add_argument("--validation-targets", type=int, choices=(5, 9), default=d.validation_targets)
    n.set_defaults(func=run_new)

    c = psub.add_parser("check", help="check a protocol without a tracker or display (one line per trial)")
    c.add_argument("protocol", type=Path, metavar="P.toml")
    c.set_defaults(func=run_check)


def run_new(args: argparse.Namespace) -> int:
    from app.study.authoring import ProtocolOptions, new_protocol
    from app.study.check import ProtocolCheckError

    keys = ("font_size_px", "caption_top_px", "caption_max_width_px", "image_top_px", "image_max_width_px",
            "image_max_height_px", "fixation_cross_s", "max_trial_s", "inter_trial_s")
    opts = ProtocolOptions(name=args.name, screen_px=tuple(args.screen_px), screen_cm=tuple(args.screen_cm),
                           distance_cm=args.distance_cm, font=args.font, validation_targets=args.validation_targets,
                           **{k: getattr(args, k) for k in keys})
    try:
        check = new_protocol(args.images, args.captions, args.out, opts)
    except ProtocolCheckError as exc:
        return _print_problems(exc.problems)
    print(check.summary())
    print(f"wrote {args.out}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from app.study.check import ProtocolCheckError, check_protocol

    try:
        check = check_protocol(args.protocol)
    except ProtocolCheckError as exc:
        return _print_problems(exc.problems)
    for trial in check.trials:
        print(trial.summary())
    print(check.summary())
    return 0


def _print_problems(problems: list[str]) -> int:
    for line in problems:
        print(f"povlab: error: {line}", file=sys.stderr)
    return ProtocolError.exit_code
