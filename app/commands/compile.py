"""``povlab compile``: put every compiled loop (numba) into its cache once, after installing.

The detectors and the acquisition run their inner loops through numba, which compiles each loop the first time a
process on this machine uses it and keeps the machine code in ``__pycache__`` (``cache=True``). Compiling them all
takes about 20 s; loading them from the cache, well under a second. ``scripts/setup.sh`` runs this command, so a
lab's first session does not spend those seconds while it starts. It runs offline and online detection of every
method on a few seconds of synthetic gaze, and the acquisition's chunk loop, then lists each compiled loop.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time

#: the modules that hold numba loops (a slow test checks that a session compiles nothing after this command)
KERNEL_MODULES = ("app.acquisition.map_kernel", "app.detection.kernels", "app.detection.assembly",
                  "app.detection.speed", "app.detection.window", "app.detection.ivt")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile the detectors' and the acquisition's loops into numba's cache "
                                       "(once after installing; setup does it)")
    p.add_argument("--json", action="store_true", help="print the loops and the time as JSON")
    p.set_defaults(func=run)


def kernels() -> list[str]:
    """Every numba loop of :data:`KERNEL_MODULES`, as ``module.name``."""
    from numba.core.registry import CPUDispatcher

    out = []
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        out += [f"{name}.{attr}" for attr, value in vars(module).items()
                if isinstance(value, CPUDispatcher) and value.__module__ == name]
    return out


def compile_all() -> None:
    """Run every path that uses a compiled loop once (offline and online detection of each method, the
    acquisition's chunk loop), on synthetic gaze with fixations, saccades, filled gaps and a blink."""
    from app.acquisition.map_kernel import warm_up
    from app.core.gaze import GazeBlock
    from app.core.geometry import ScreenGeometry
    from app.detection.online import load_kernels, warmup_gaze
    from app.detection.pipeline import METHODS, detect

    warm_up()
    rate, geometry = 500.0, ScreenGeometry()
    block = GazeBlock.from_arrays(*warmup_gaze(3000, rate))
    for method in METHODS:
        detect(block, geometry, method=method, rate_hz=rate)
        detect(block, geometry, method=method, rate_hz=rate, velocity_window_s=0.02)
        load_kernels(method)  # the online detector's own warm-up: a stream through a throw-away detector


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    compile_all()
    seconds = time.perf_counter() - t0
    loops = kernels()
    if args.json:
        print(json.dumps({"seconds": round(seconds, 2), "loops": len(loops), "modules": list(KERNEL_MODULES)}))
    else:
        print(f"povlab compile: {len(loops)} compiled loops in {len(KERNEL_MODULES)} modules ready ({seconds:.1f} s; "
              "about 20 s when they are compiled, under 1 s when they come from the cache)")
    return 0
