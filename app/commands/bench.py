"""``povlab bench NAME [--json]``: benchmarks whose figures go into the README.

Every benchmark lives in ``app/bench/``: a module with ``run(args) -> dict`` and optionally
``add_arguments(parser)``. BENCHMARKS imports each one explicitly (inside a small function, so that
``povlab bench detect`` does not load Qt), which keeps the imports visible to import-linter.
With ``--json`` the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from types import ModuleType

from app.core.errors import PovLabError


def _detect() -> ModuleType:
    from app.bench import detect

    return detect


def _export() -> ModuleType:
    from app.bench import export

    return export


def _ingest() -> ModuleType:
    from app.bench import ingest

    return ingest


def _inference() -> ModuleType:
    from app.bench import inference

    return inference


def _latency() -> ModuleType:
    from app.bench import latency

    return latency


def _presentation() -> ModuleType:
    from app.bench import presentation

    return presentation


def _protocol_check() -> ModuleType:
    from app.bench import protocol_check

    return protocol_check


def _remote() -> ModuleType:
    from app.bench import remote

    return remote


def _study() -> ModuleType:
    from app.bench import study

    return study


def _gui() -> ModuleType:
    from app.bench import gui

    return gui


# name -> (module loader, help)
BENCHMARKS: dict[str, tuple[Callable[[], ModuleType], str]] = {
    "detect": (_detect, "gaze event detection: I-VT on an hour of 1 kHz, vs pymovements, online"),
    "export": (_export, "an hour of 1000 Hz gaze exported to BIDS and bundled"),
    "ingest": (_ingest, "LSL gaze ingest: samples lost, CPU % of one core, memory"),
    "inference": (_inference, "one live prediction: p50/p99 ms, ONNX vs eager PyTorch"),
    "latency": (_latency, "LSL arrival of a fixation's last sample -> updated prediction (ms)"),
    "presentation": (_presentation, "participant screen: flip vs marker time stamps (ms)"),
    "protocol-check": (_protocol_check, "protocol new + protocol check on 100 trials of 1920x1080 JPEGs (s)"),
    "remote": (_remote, "remote-control server under hostile clients: peak memory, threads, refusals"),
    "study": (_study, "simulated study: retrained model vs id-only prior on held-out participants (pipeline check)"),
    "gui": (_gui, "operator window at 2000 Hz gaze: frame time p50/p99 (ms), display lag (ms)"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print its figures")
    bsub = p.add_subparsers(dest="bench_name", metavar="NAME")
    bsub.required = True
    for name, (module, help_text) in BENCHMARKS.items():
        bp = bsub.add_parser(name, help=help_text)
        bp.add_argument("--json", action="store_true", help="print one JSON object on the last line")
        bp.set_defaults(func=run, bench_module=module)
        mod = module()
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(bp)


def run(args: argparse.Namespace) -> int:
    mod = args.bench_module()
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
