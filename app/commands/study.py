"""``povlab study status DIR [--json]``: participants and sessions of a study folder, quality and model agreement."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="a study: a folder of sessions recorded with one protocol")
    ssub = p.add_subparsers(dest="study_command", metavar="ACTION")
    ssub.required = True
    s = ssub.add_parser("status", help="participants and sessions: status, trials, data quality, model agreement")
    s.add_argument("folder", type=Path, metavar="DIR", help="study folder (sub-*/ses-* session folders inside)")
    s.add_argument("--json", action="store_true", help="one JSON object (documented in docs/studies.md)")
    s.set_defaults(func=run_status)


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _row(r: Any) -> list[str]:
    q = r.quality
    val = "-" if q.validation_mean_deg is None else \
        f"{q.validation or '?'} {q.validation_mean_deg:.2f}/{_f(q.validation_max_deg, '.2f')} deg"
    total = "?" if r.trials_total is None else str(r.trials_total)
    return [f"sub-{r.participant}", f"ses-{r.session}", str(r.run), r.status, f"{r.trials_done}/{total}", val,
            _f(q.lost_pct, ".2f"), _f(q.invalid_pct, ".1f"), f"{q.gaps} ({q.gap_s:.1f} s)" if q.gaps else "0",
            "-" if r.agreement is None else f"{r.agreement:.2f} ({r.agreement_trials})", r.action or ""]


def run_status(args: argparse.Namespace) -> int:
    from app.study.status import study_status

    st = study_status(args.folder)
    d = st.to_dict()
    if args.json:
        print(json.dumps(d, sort_keys=True))
        return 0
    t = d["totals"]
    agree = "-" if t["agreement"] is None else f"{t['agreement']:.2f} over {t['agreement_trials']} trials"
    print(f"study {st.folder}: protocol {st.protocol_name!r} (sha256 {(st.protocol_sha256 or '?')[:8]}), "
          f"{t['participants']} participants, {t['sessions']} sessions, {t['trials_done']} trials done, "
          f"model agreement {agree}")
    head = ["participant", "session", "run", "status", "trials", "validation (mean/max)", "lost %", "invalid %",
            "gaps", "agreement", "action"]
    rows = [head] + [_row(r) for r in st.runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    for r in st.runs:
        for note in r.notes:
            print(f"note: sub-{r.participant}/ses-{r.session} run {r.run}: {note}")
    return 0
