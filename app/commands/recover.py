"""``povlab recover SESSION_DIR``: make a valid session of what a killed or disk-full recording left."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recover", help="recover a session folder left by a crash (keeps the original XDF)")
    p.add_argument("session_dir", type=Path, metavar="SESSION_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runfolder.recover import recover_session

    for r in recover_session(args.session_dir):
        if not r.recovered:
            print(f"{r.stem}: ended cleanly ({r.status_before}); nothing to recover")
            continue
        counts = ", ".join(f"{name} {n}" for name, n in r.samples.items())
        print(f"{r.stem}: recovered {r.duration_s:.1f} s of data, {r.trials} trials ({counts})")
        for line in r.losses:
            print(f"  lost: {line}")
    return 0
