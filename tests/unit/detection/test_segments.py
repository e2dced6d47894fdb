"""Post-processing: merging split fixations, minimum duration, blinks and track loss."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.geometry import ScreenGeometry
from app.detection.segments import FIX, LOSS, SACC, EventAssembler, PostParams

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
    asm = EventAssembler(post or PostParams(), GEOM, RATE)
    asm.push(codes, t, x, y, v)
    asm.finish()
    return [(e.kind, e.start_index, e.stop_index) for e in asm.take()]


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chunked_pushes_give_the_same_events_to_the_last_bit(seed: int) -> None:
    """The assembler's state carries over between pushes: any chunking (with the online early release of
    fixations) gives the events of one push, every field equal."""
    rng = np.random.default_rng(seed)
    codes = np.repeat(rng.choice([FIX, SACC, LOSS, FIX, FIX], 400), rng.integers(1, 150, 400)).astype(np.int8)
    n = len(codes)
    t = np.cumsum(rng.uniform(0.0008, 0.0012, n))
    x = 960 + np.cumsum(rng.normal(0, 2, n))
    y = 540 + np.cumsum(rng.normal(0, 2, n))
    x[codes == LOSS] = np.nan
    v = rng.uniform(0, 200, n)
    whole = EventAssembler(PostParams(), GEOM, RATE)
    whole.push(codes, t, x, y, v)
    whole.finish()
    expected = whole.take_table()
    chunked = EventAssembler(PostParams(), GEOM, RATE)
    tables, i = [], 0
    while i < n:
        c = int(rng.integers(1, 60))
        chunked.push(codes[i:i + c], t[i:i + c], x[i:i + c], y[i:i + c], v[i:i + c], online=True)
        tables.append(chunked.take_table())
        i += c
    chunked.finish()
    got = np.concatenate(tables + [chunked.take_table()])
    assert len(expected) > 100 and {0, 1, 3, 4} <= set(expected[:, 0].astype(int).tolist())
    np.testing.assert_array_equal(got, expected)
