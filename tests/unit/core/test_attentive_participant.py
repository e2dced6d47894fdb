"""The attentive simulated participant: its answer follows the documented rule on what it looked at."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.attentive_participant import (
    AttentionTraits,
    answer_from_viewing,
    draw_traits,
    named_objects,
    plan_viewing,
)
from app.core.errors import GazeDataError
from app.core.layout import layout_trial
from app.core.paths import DEMO_PROTOCOL
from app.core.protocol import load_protocol

STRICT = AttentionTraits(look_prob=1.0, seen_dwell_s=0.3, lapse=0.0)


@pytest.fixture(scope="module")
def coffee():
    p = load_protocol(DEMO_PROTOCOL)
    trial = next(t for t in p.trials if t.trial_id == "coffee")
    return trial, layout_trial(p, trial)


def idx(lay, name: str) -> int:
    return next(k for k, a in enumerate(lay.aois) if a.name == name)


def test_named_objects_are_the_caption_words(coffee) -> None:
    trial, lay = coffee
    assert {lay.aois[k].name for k in named_objects(lay, trial.caption)} == {"vis_cup", "vis_saucer", "vis_spoon"}
    assert {lay.aois[k].name for k in named_objects(lay, "Two cups and spoons")} == {"vis_cup", "vis_spoon"}
    assert named_objects(lay, "A quiet street") == set()


def test_yes_only_when_every_named_object_was_seen_long_enough(coffee) -> None:
    trial, lay = coffee
    rng = np.random.default_rng(0)
    cup, saucer, spoon = idx(lay, "vis_cup"), idx(lay, "vis_saucer"), idx(lay, "vis_spoon")
    all_seen = [(cup, 0.3), (saucer, 0.2), (saucer, 0.15), (spoon, 0.31), (-1, 0.5)]
    assert answer_from_viewing(lay, trial.caption, all_seen, STRICT, rng) == "yes"
    spoon_missed = [(cup, 0.3), (saucer, 0.4)]
    assert answer_from_viewing(lay, trial.caption, spoon_missed, STRICT, rng) == "no"
    spoon_glanced = [(cup, 0.3), (saucer, 0.4), (spoon, 0.2)]  # below this participant's 0.3 s
    assert answer_from_viewing(lay, trial.caption, spoon_glanced, STRICT, rng) == "no"
    lenient = AttentionTraits(look_prob=1.0, seen_dwell_s=0.15, lapse=0.0)  # the same gaze, another participant
    assert answer_from_viewing(lay, trial.caption, spoon_glanced, lenient, rng) == "yes"
    assert answer_from_viewing(lay, "A quiet street", all_seen, STRICT, rng) == "no"
    always_lapses = AttentionTraits(look_prob=1.0, seen_dwell_s=0.3, lapse=1.0)
    assert answer_from_viewing(lay, trial.caption, all_seen, always_lapses, rng) == "no"


def test_viewing_reads_the_caption_then_looks_at_objects(coffee) -> None:
    _, lay = coffee
    rng = np.random.default_rng(1)
    thorough = plan_viewing(lay, AttentionTraits(1.0, 0.2, 0.0), rng)
    kinds = [lay.aois[f.aoi].kind for f in thorough]
    assert kinds[0] == "word" and {lay.aois[f.aoi].name for f in thorough if kinds} >= {
        "vis_cup", "vis_saucer", "vis_spoon"}
    onsets = [f.onset_s for f in thorough]
    assert onsets == sorted(onsets) and all(b.onset_s >= a.onset_s + a.duration_s for a, b in
                                            zip(thorough, thorough[1:], strict=False))
    for f in thorough:
        x0, y0, x1, y1 = lay.aois[f.aoi].bbox
        assert x0 <= f.x <= x1 and y0 <= f.y <= y1
    blind = plan_viewing(lay, AttentionTraits(0.0, 0.2, 0.0), rng)
    assert {lay.aois[f.aoi].kind for f in blind} == {"word"}


def test_individual_differences_and_validation() -> None:
    rng = np.random.default_rng(2)
    traits = [draw_traits(rng) for _ in range(50)]
    looks = [t.look_prob for t in traits]
    assert 0.45 <= min(looks) < max(looks) <= 0.9 and len(set(looks)) == 50
    assert all(0.15 <= t.seen_dwell_s <= 0.45 and 0.02 <= t.lapse <= 0.08 for t in traits)
    with pytest.raises(GazeDataError):
        AttentionTraits(look_prob=1.5, seen_dwell_s=0.2, lapse=0.0)
