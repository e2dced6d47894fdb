"""``povlab bench presentation``: how close the markers' time stamps are to the flips.

Runs the demo protocol (short timing, simulated participant, validation targets) in the
PsychoPy window and sends its markers through a real LSL outlet on this machine to an inlet,
as a recording would receive them. For every marker it compares the time stamp the inlet
received (with LSL's clock correction) with the LSL clock read in the child right after
``win.flip()`` returned; and it measures how long the markers took from the flip to the
outlet (the pipe between the processes), which only matters to live consumers because the
recording keeps the flip stamp. Without a display it starts its own Xvfb (no vsync there:
figures from a lab screen will show flips locked to its refresh).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import threading
import uuid
from typing import Any

from app.core.errors import PresentationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=6, help="main trials of the demo protocol to show (1-6)")
    parser.add_argument("--protocol", default=None, help="protocol file (default: the demo protocol)")


def _stats(values: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(values, dtype=float)
    return {"mean": round(float(np.mean(a)), 4), "p99": round(float(np.percentile(a, 99)), 4),
            "max": round(float(np.max(a)), 4)}


class _LslSink:
    def __init__(self, outlet: Any, clock: Any) -> None:
        self.outlet, self._clock, self.pushed = outlet, clock, 0

    def push(self, marker: str, timestamp: float) -> None:
        self.outlet.push_sample([marker], timestamp)
        self.pushed += 1

    def clock(self) -> float:
        return float(self._clock())


def run(args: argparse.Namespace) -> dict[str, Any]:
    import pylsl

    from app.core.paths import DEMO_PROTOCOL
    from app.core.protocol import Timing, load_protocol
    from app.presentation.presenter import PsychoPyPresenter
    from app.presentation.xvfb import Xvfb

    if not 1 <= args.trials <= 100:
        raise PresentationError(f"bench presentation: --trials must be between 1 and 100, got {args.trials}")
    protocol = load_protocol(args.protocol or DEMO_PROTOCOL)
    protocol = dataclasses.replace(protocol, timing=Timing(0.3, 3.0, 0.2), trials=protocol.trials[: args.trials])
    xvfb = None
    display = os.environ.get("DISPLAY")
    if not display:
        w, h = protocol.screen.width_px, protocol.screen.height_px
        xvfb = Xvfb(w, h)
        display = xvfb.start()
    sid = f"povlab-bench-{uuid.uuid4().hex[:10]}"
    info = pylsl.StreamInfo("PovLab-Bench-Markers", "Markers", 1, pylsl.IRREGULAR_RATE, "string", sid)
    outlet = pylsl.StreamOutlet(info)
    try:
        found = pylsl.resolve_byprop("source_id", sid, timeout=10.0)
        if not found:
            raise PresentationError("bench presentation: the benchmark's own LSL stream was not found on loopback")
        inlet = pylsl.StreamInlet(found[0], max_buflen=60)
        inlet.open_stream(timeout=10.0)
        presenter = PsychoPyPresenter(windowed=True, simulate_participant=True, display=display, sim_seed=11,
                                      sim_rt_median_s=0.8, target_s=0.3, validation_intro_s=0.3)
        sink = _LslSink(outlet, pylsl.local_clock)
        outcomes = presenter.run(protocol, sink, threading.Event(), lambda o: None)
        received: list[float] = []
        while len(received) < sink.pushed:
            sample, stamp = inlet.pull_sample(timeout=2.0)
            if sample is None:
                break
            received.append(stamp)
        correction = inlet.time_correction(timeout=5.0)
    finally:
        if xvfb is not None:
            xvfb.stop()
    per_marker_after = [f.lsl_after_flip for f in presenter.flips for _ in f.markers]
    if len(received) != len(per_marker_after):
        raise PresentationError(f"bench presentation: {len(per_marker_after)} markers pushed, "
                                f"{len(received)} received")
    offsets = [abs(ts + correction - after) * 1000 for ts, after in zip(received, per_marker_after, strict=True)]
    relay = [(f.pushed_at - f.lsl_after_flip) * 1000 for f in presenter.flips]
    out: dict[str, Any] = {"trials": len(outcomes), "flips": len(presenter.flips), "markers": len(received),
                           "display": "Xvfb (no vsync)" if xvfb is not None else display,
                           "lsl_time_correction_ms": round(correction * 1000, 4)}
    out.update({f"stamp_vs_flip_ms_{k}": v for k, v in _stats(offsets).items()})
    out.update({f"flip_to_outlet_ms_{k}": v for k, v in _stats(relay).items()})
    return out
