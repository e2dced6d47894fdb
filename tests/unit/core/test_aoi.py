from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.aoi import (
    OFF,
    AoiIndex,
    contains,
    distance_to_polygon,
    map_fixations,
    map_points,
    polygon_area,
    trial_metrics,
)
from app.core.errors import GazeDataError
from app.core.gaze_events import GazeEvent
from app.core.geometry import ScreenGeometry
from app.core.layout import Aoi, TrialLayout, layout_trial
from app.core.protocol import load_protocol

GEOM = ScreenGeometry()
PPD = GEOM.px_per_deg  # about 43 px


def _rect(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


AOIS = (
    Aoi("txt_a", "word", "a", _rect(100, 100, 200, 150), 0),
    Aoi("txt_b", "word", "b", _rect(300, 100, 400, 150), 1),
    Aoi("vis_table", "object", "table", _rect(500, 400, 1400, 1000), 0),
    Aoi("vis_cup", "object", "cup", ((800, 500), (900, 500), (850, 600)), 1),  # triangle inside the table
)
LAYOUT = TrialLayout("t1", (1920, 1080), (), (500, 400, 1400, 1000), 1.0, AOIS)


@pytest.mark.parametrize(("x", "y", "expected"), [
    pytest.param(150, 120, 0, id="inside-word"),
    pytest.param(850, 550, 3, id="nested-smallest-wins"),
    pytest.param(600, 900, 2, id="inside-object"),
    pytest.param(150, 150 + 0.4 * PPD, 0, id="below-word-within-margin"),
    pytest.param(150, 150 + 0.6 * PPD, OFF, id="below-word-beyond-margin"),
    pytest.param(210, 125, 0, id="between-words-nearest"),
    pytest.param(290, 125, 1, id="between-words-nearest-right"),
    pytest.param(1800, 100, OFF, id="far-off"),
    pytest.param(math.nan, 100, OFF, id="nan"),
])
def test_map_points(x: float, y: float, expected: int) -> None:
    assert map_points(np.array([x]), np.array([y]), AOIS, GEOM, margin_deg=0.5).tolist() == [expected]


def test_zero_margin_and_bad_margin() -> None:
    assert map_points(np.array([150.0]), np.array([151.0]), AOIS, GEOM, margin_deg=0.0).tolist() == [OFF]
    with pytest.raises(GazeDataError):
        map_points(np.array([1.0]), np.array([1.0]), AOIS, GEOM, margin_deg=-1)


def test_polygon_helpers() -> None:
    assert polygon_area(_rect(0, 0, 10, 5)) == 50
    tri = ((0, 0), (10, 0), (5, 10))
    assert contains(tri, np.array([5.0, 9.0]), np.array([5.0, 9.0])).tolist() == [True, False]


def _fix(onset: float, dur: float, x: float, y: float) -> GazeEvent:
    return GazeEvent("fixation", onset, onset + dur, dur, x, y, math.nan, 10.0)


def test_trial_metrics() -> None:
    fixes = [_fix(10.1, 0.2, 150, 120), _fix(10.35, 0.3, 150, 125), _fix(10.7, 0.2, 350, 120),
             _fix(11.0, 0.25, 1800, 100), _fix(11.3, 0.2, 160, 130), _fix(11.6, 0.4, 850, 550)]
    hits = map_fixations(fixes, LAYOUT, GEOM)
    assert hits.tolist() == [0, 0, 1, OFF, 0, 3]
    m = trial_metrics(fixes, hits.tolist(), LAYOUT, trial_onset=10.0)
    assert m.dwell_s == pytest.approx((0.7, 0.2, 0.0, 0.4))
    assert m.fixation_count == (3, 1, 0, 1)
    assert m.first_fixation_s[0] == pytest.approx(0.1) and m.first_fixation_s[3] == pytest.approx(1.6)
    assert math.isnan(m.first_fixation_s[2])
    assert m.revisits == (1, 0, 0, 0)
    assert m.off_count == 1 and m.off_dwell_s == pytest.approx(0.25)
    t = m.transitions
    assert t.shape == (5, 5) and t.sum() == len(fixes) - 1
    assert t[0, 0] == 1 and t[0, 1] == 1 and t[1, 4] == 1 and t[4, 0] == 1 and t[0, 3] == 1


def test_metrics_reject_bad_input() -> None:
    fixes = [_fix(1.0, 0.2, 150, 120), _fix(0.5, 0.2, 150, 120)]
    with pytest.raises(GazeDataError, match="time order"):
        trial_metrics(fixes, [0, 0], LAYOUT, 0.0)
    with pytest.raises(GazeDataError, match="hits"):
        trial_metrics(fixes[:1], [7], LAYOUT, 0.0)
    with pytest.raises(GazeDataError, match="only fixation"):
        map_fixations([GazeEvent("saccade", 0, 0.1, 0.1, 1, 1, 1, 1)], LAYOUT, GEOM)


def test_real_layout_words_are_hit(demo_protocol_path) -> None:
    p = load_protocol(demo_protocol_path)
    lay = layout_trial(p, p.trials[0])
    cx = np.array([a.centre[0] for a in lay.aois])
    cy = np.array([a.centre[1] for a in lay.aois])
    hits = map_points(cx, cy, lay.aois, GEOM)
    words = [i for i, a in enumerate(lay.aois) if a.kind == "word"]
    assert hits[words].tolist() == words


def test_the_prepared_index_measures_every_polygon_as_distance_to_polygon_does(demo_protocol_path) -> None:
    """AoiIndex does all edges at once; each distance must equal the per-polygon reference exactly."""
    p = load_protocol(demo_protocol_path)
    rng = np.random.default_rng(5)
    star = tuple((500 + 300 * math.cos(a) * (1 if k % 2 else 0.4), 500 + 300 * math.sin(a) * (1 if k % 2 else 0.4))
                 for k, a in enumerate(np.linspace(0, 2 * math.pi, 10, endpoint=False)))  # concave
    odd = (*AOIS, Aoi("vis_star", "object", "star", star, 2), Aoi("vis_empty", "object", "empty", (), 3),
           Aoi("vis_dot", "object", "dot", ((700.0, 700.0), (700.0, 700.0), (700.0, 700.0)), 4))
    for aois in (odd, *(layout_trial(p, t).aois for t in p.all_trials)):
        x = np.concatenate([rng.uniform(-50, 1970, 400), [a.bbox[0] for a in aois if a.polygon], [np.nan]])
        y = np.concatenate([rng.uniform(-50, 1130, 400), [a.bbox[1] for a in aois if a.polygon], [5.0]])
        index = AoiIndex(aois, GEOM, 0.5)
        reference = np.stack([distance_to_polygon(a.polygon, x, y) if a.polygon else np.full(x.shape, np.inf)
                              for a in aois])
        np.testing.assert_array_equal(index.distances(x, y), reference)
        fixes = [GazeEvent("fixation", 0.0, 0.1, 0.1, float(a), float(b), math.nan, math.nan) for a, b in zip(x, y, strict=True)]
        assert map_fixations(fixes, LAYOUT, GEOM, index=index).tolist() == index.map(x, y).tolist()
