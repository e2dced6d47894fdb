"""Offline detection of a whole recording: prepare, label samples, assemble events.

``detect(block, geometry, method=...)`` is the one entry point used by ``povlab detect``,
the evaluation on expert-coded data and the benchmarks. Every parameter that shaped the
events is returned in ``DetectionResult.params`` (and written next to the events).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.gaze_events import DetectionResult
from app.core.geometry import ScreenGeometry
from app.detection.assembly import labels_from_table
from app.detection.gapfill import max_fill_samples
from app.detection.idt import IdtParams, idt_codes
from app.detection.ivt import IvtParams, ivt_codes
from app.detection.methods import DEFAULT_METHOD, METHOD_DESCRIPTIONS
from app.detection.nh import NhParams, nh_codes
from app.detection.segments import EventAssembler, PostParams, events_from_table
from app.detection.velocity import PreparedGaze, prepare

#: method name -> (parameter class, one-line description with its source)
METHODS: dict[str, tuple[type, str]] = {
    "nh": (NhParams, METHOD_DESCRIPTIONS["nh"]),
    "ivt": (IvtParams, METHOD_DESCRIPTIONS["ivt"]),
    "idt": (IdtParams, METHOD_DESCRIPTIONS["idt"]),
}
VELOCITY_WINDOW_S = 0.01
GAP_FILL_S = 0.02
MERGE_NOISE_SD = 4.0


def make_params(method: str, overrides: Mapping[str, float] | None = None) -> Any:
    if method not in METHODS:
        raise GazeDataError(f"detection: unknown method {method!r}; choose one of {sorted(METHODS)}")
    cls = METHODS[method][0]
    try:
        return cls(**dict(overrides or {}))
    except TypeError as exc:
        raise GazeDataError(f"detection: bad parameter for {method}: {exc}") from exc


def default_post(method: str) -> PostParams:
    """Post-processing defaults: the default detector merges fixations only within 4 noise SDs (at most 0.5 deg)."""
    return PostParams(merge_noise_sd=MERGE_NOISE_SD) if method == DEFAULT_METHOD else PostParams()


def codes_for(method: str, g: PreparedGaze, params: Any) -> np.ndarray:
    if method == "ivt":
        return ivt_codes(g.v, g.ok, params)
    if method == "idt":
        return idt_codes(g.t, g.xd, g.yd, g.v, g.ok, params)
    if method == "nh":
        return nh_codes(g, params)
    raise GazeDataError(f"detection: unknown method {method!r}; choose one of {sorted(METHODS)}")


def describe(method: str, params: Any, post: PostParams, geometry: ScreenGeometry, rate_hz: float,
             k: int, gap_fill_s: float, noise_deg: float) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {"method": method, "method_source": METHODS[method][1]}
    for key, value in asdict(params).items():
        if isinstance(value, dict):  # nested parameters (the default detector's thresholds)
            out.update({f"{method}.{key}.{k2}": v2 for k2, v2 in value.items()})
        else:
            out[f"{method}.{key}"] = value
    out.update({f"post.{key}": value for key, value in asdict(post).items()})
    out.update({"velocity.window_samples": 2 * k + 1, "velocity.window_s": round((2 * k + 1) / rate_hz, 6),
                "velocity.filter": "least-squares slope (Savitzky-Golay first derivative)",
                "sampling_rate_hz": rate_hz, "gap_fill_s": gap_fill_s,
                "noise_sd_deg_first_2s": round(noise_deg, 6),
                "gap_fill_max_samples": max_fill_samples(rate_hz, gap_fill_s)})
    out.update({f"screen.{key}": value for key, value in asdict(geometry).items()})
    return out


def detect(block: GazeBlock, geometry: ScreenGeometry, method: str = DEFAULT_METHOD,
           params: Any = None, post: PostParams | None = None, rate_hz: float | None = None,
           velocity_window_s: float | None = None, gap_fill_s: float = GAP_FILL_S) -> DetectionResult:
    """Events and sample labels of one recording (time-sorted samples, pixels, NaN = lost).

    ``velocity_window_s=None`` (the default) widens the differentiator's window from 10 ms up to
    40 ms as the recording's noise requires; the online detectors use a fixed window, so pass
    the same fixed window here to compare them.
    """
    if len(block) < 2:
        raise GazeDataError(f"detection: need at least two samples, got {len(block)}")
    if not block.valid.any():
        raise GazeDataError(f"detection: no usable gaze samples: x/y are missing in all {len(block)} samples")
    params = make_params(method) if params is None else params
    post = default_post(method) if post is None else post
    g = prepare(block, geometry, rate_hz, velocity_window_s, gap_fill_s)
    codes = codes_for(method, g, params)
    post = post.for_noise(g.noise_deg)
    assembler = EventAssembler(post, geometry, g.rate_hz)
    assembler.push(codes, g.t, g.x, g.y, g.v, final=True)
    table = assembler.take_table()
    events = tuple(events_from_table(table))
    labels = labels_from_table(len(block), table, 0)
    return DetectionResult(method, events, labels, describe(method, params, post, geometry, g.rate_hz, g.k,
                                                            gap_fill_s, g.noise_deg))
