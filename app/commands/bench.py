"""``povlab bench NAME [--json]``: benchmarks whose figures go into the README.

Each benchmark is a function ``run(args) -> dict`` in the module named in BENCHMARKS,
imported only when chosen. With ``--json`` the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json

from app.core.errors import PovLabError

# name -> (module, help). Each module defines ``add_arguments(parser)`` (optional) and ``run(args) -> dict``.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "detect": ("app.detection.bench_detect", "gaze event detection: I-VT on an hour of 1 kHz, vs pymovements, online"),
    "export": ("app.recording.bench_export", "an hour of 1000 Hz gaze exported to BIDS and bundled"),
    "ingest": ("app.acquisition.bench_ingest", "LSL gaze ingest: samples lost, CPU % of one core, memory"),
    "inference": ("app.inference.bench_inference", "one live prediction: p50/p99 ms, ONNX vs eager PyTorch"),
    "latency": ("app.session.bench_latency", "LSL arrival of a fixation's last sample -> updated prediction (ms)"),
    "presentation": ("app.presentation.bench_presentation", "participant screen: flip vs marker time stamps (ms)"),
    "gui": ("app.gui.bench_gui", "operator window at 2000 Hz gaze: frame time p50/p99 (ms), display lag (ms)"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print its figures")
    bsub = p.add_subparsers(dest="bench_name", metavar="NAME")
    bsub.required = True
    for name, (module, help_text) in BENCHMARKS.items():
        bp = bsub.add_parser(name, help=help_text)
        bp.add_argument("--json", action="store_true", help="print one JSON object on the last line")
        bp.set_defaults(func=run, bench_module=module)
        mod = importlib.import_module(module)
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(bp)


def run(args: argparse.Namespace) -> int:
    mod = importlib.import_module(args.bench_module)
    result = mod.run(args)
    if not isinstance(result, dict):
        raise PovLabError(f"benchmark {args.bench_name} returned no figures")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result) if result else 0
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0
