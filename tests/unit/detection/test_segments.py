"""Post-processing: merging split fixations, minimum duration, blinks and track loss."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.geometry import ScreenGeometry
from app.detection.pipeline import angle_fn
from app.detection.segments import FIX, LOSS, SACC, EventAssembler, PostParams, runs_from_codes

GEOM = ScreenGeometry()
RATE = 1000.0
PPD = GEOM.px_per_deg


def _events(pieces: list[tuple[int, int, float]], post: PostParams | None = None) -> list[tuple[str, int, int]]:
    """pieces: (code, n_samples, x offset in degrees) laid end to end at 1 kHz."""
    codes = np.concatenate([np.full(n, c, dtype=np.int8) for c, n, _ in pieces])
    x = np.concatenate([np.full(n, 960 + dx * PPD) for _, n, dx in pieces])
    x[codes == LOSS] = np.nan
    t = np.arange(len(codes)) / RATE
    y = np.where(codes == LOSS, np.nan, 540.0)
    v = np.where(codes == SACC, 100.0, 5.0)
    asm = EventAssembler(post or PostParams(), angle_fn(GEOM))
    for run in runs_from_codes(codes, t, x, y, v, 1 / RATE):
        asm.feed(run)
    return [(e.kind, e.start_index, e.stop_index) for e in asm.finish()]


@pytest.mark.parametrize(("pieces", "expected"), [
    pytest.param([(FIX, 200, 0), (SACC, 20, 0), (FIX, 200, 0.3)], [("fixation", 0, 420)],
                 id="merge-close-in-time-and-space"),
    pytest.param([(FIX, 200, 0), (SACC, 20, 0), (FIX, 200, 2.0)],
                 [("fixation", 0, 200), ("saccade", 200, 220), ("fixation", 220, 420)], id="too-far-apart"),
    pytest.param([(FIX, 200, 0), (SACC, 80, 0), (FIX, 200, 0.1)],
                 [("fixation", 0, 200), ("saccade", 200, 280), ("fixation", 280, 480)], id="too-long-apart"),
    pytest.param([(FIX, 200, 0), (SACC, 20, 0), (FIX, 40, 5), (SACC, 20, 5), (FIX, 200, 10)],
                 [("fixation", 0, 200), ("saccade", 200, 220), ("saccade", 260, 280), ("fixation", 280, 480)],
                 id="short-fixation-dropped"),
    pytest.param([(FIX, 200, 0), (SACC, 15, 0), (LOSS, 120, 0), (SACC, 10, 0), (FIX, 200, 0)],
                 [("fixation", 0, 200), ("blink", 200, 345), ("fixation", 345, 545)], id="blink-with-lid-artefacts"),
    pytest.param([(FIX, 200, 0), (LOSS, 900, 0), (FIX, 200, 0)],
                 [("fixation", 0, 200), ("track_loss", 200, 1100), ("fixation", 1100, 1300)], id="long-loss"),
    pytest.param([(FIX, 200, 0), (LOSS, 10, 0), (FIX, 200, 0)],
                 [("fixation", 0, 200), ("track_loss", 200, 210), ("fixation", 210, 410)], id="short-loss-no-merge"),
])
def test_post_processing(pieces: list[tuple[int, int, float]], expected: list[tuple[str, int, int]]) -> None:
    assert _events(pieces) == expected


def test_parameters_change_the_outcome() -> None:
    pieces = [(FIX, 200, 0), (SACC, 20, 0), (FIX, 200, 0.3)]
    assert len(_events(pieces, PostParams(merge_gap_s=0.0))) == 3
    assert _events([(FIX, 50, 0)], PostParams(min_fixation_s=0.04)) == [("fixation", 0, 50)]
    assert _events([(FIX, 50, 0)], PostParams(min_fixation_s=0.06)) == []


@pytest.mark.parametrize("kwargs", [
    pytest.param({"merge_gap_s": -1.0}, id="negative"),
    pytest.param({"blink_min_s": 0.6, "blink_max_s": 0.5}, id="blink-range"),
    pytest.param({"min_fixation_s": float("inf")}, id="infinite"),
])
def test_bad_post_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(GazeDataError):
        PostParams(**kwargs)
