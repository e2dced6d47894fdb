"""``povlab report SESSION_OR_STUDY --aoi-metrics OUT.tsv [--trials OUT.tsv]``: per-AOI and per-trial tables."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="per-AOI metrics (dwell, first fixation, revisits, answer) of a session or "
                                      "study; columns in docs/studies.md")
    p.add_argument("folder", type=Path, metavar="SESSION_OR_STUDY")
    p.add_argument("--aoi-metrics", type=Path, required=True, metavar="OUT.tsv",
                   help="one row per participant x trial x AOI")
    p.add_argument("--trials", type=Path, metavar="OUT.tsv", help="one row per participant x trial")
    p.add_argument("--margin-deg", type=float, default=0.5,
                   help="a fixation outside every AOI goes to the nearest within this angle (default 0.5, as live)")
    p.add_argument("--fixations", choices=("recorded", "nh", "ivt", "idt"), default="recorded",
                   help="recorded: the live detector's fixations (default); nh, ivt, idt: detected offline in the "
                        "recorded gaze (as povlab detect)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.study.report import make_report

    rep = make_report(args.folder, args.aoi_metrics, args.trials, args.margin_deg, args.fixations)
    for note in rep.notes:
        print(f"note: {note}")
    extra = f" and {rep.trial_rows} trial rows to {args.trials}" if args.trials is not None else ""
    print(f"wrote {rep.aoi_rows} AOI rows to {args.aoi_metrics}{extra} ({len(rep.runs)} runs)")
    return 0
