from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import ModelError
from app.core.features import (
    DWELL_FEATURES,
    GLOBAL_FEATURES,
    INPUT_NAMES,
    UNKNOWN_PARTICIPANT,
    Fixation,
    GazeTally,
    Token,
    TrialFeatures,
    batch_inputs,
    participant_index,
    token_layout,
    trial_features,
)
from tests.unit.core.reference_features import reference_trial_features

TOKENS = (Token("word", "a"), Token("word", "dog"), Token("word", "runs"), Token("object", "dog"))
D = {name: i for i, name in enumerate(DWELL_FEATURES)}
G = {name: i for i, name in enumerate(GLOBAL_FEATURES)}


def fx(*pairs: tuple[int, float]) -> list[Fixation]:
    return [Fixation(t, d) for t, d in pairs]


def test_dwell_order_and_transitions() -> None:
    f = trial_features(TOKENS, fx((1, 0.2), (-1, 0.1), (3, 0.3), (1, 0.1), (1, 0.2)), participant=5)
    assert f.participant == 5
    assert f.kind.tolist() == [0, 0, 0, 1] and f.position.tolist() == [0, 1, 2, 0]
    # first looked at: dog (word) then dog (object); a and runs never
    assert f.order.tolist() == [0, 1, 0, 2]
    assert f.dwell[1, D["dwell_s"]] == pytest.approx(0.5)
    assert f.dwell[1, D["first_duration_s"]] == pytest.approx(0.2)
    assert f.dwell[1, D["log_visits"]] == pytest.approx(np.log1p(2))  # two visits: 0 and 3-4
    assert f.dwell[0, D["fixated"]] == 0 and f.dwell[3, D["fixated"]] == 1
    assert f.dwell[:, D["dwell_share"]].sum() == pytest.approx(1.0)
    # transitions skip the off fixation: 1->3, 3->1, 1->1 (refixation)
    expected = np.zeros((4, 4))
    expected[1, 3] = expected[3, 1] = expected[1, 1] = np.log1p(1)
    np.testing.assert_allclose(f.transitions, expected)
    assert f.glob[G["off_share"]] == pytest.approx(1 / 5)
    assert f.glob[G["total_s"]] == pytest.approx(0.9)
    assert f.glob[G["image_share"]] == pytest.approx(0.3 / 0.9)


@pytest.mark.parametrize("fixations", [
    pytest.param([], id="no-fixations"),
    pytest.param(fx((-1, 0.2), (-1, 0.3)), id="all-off"),
])
def test_no_gaze_on_tokens_gives_zero_features(fixations: list[Fixation]) -> None:
    f = trial_features(TOKENS, fixations, participant=0)
    assert not f.dwell.any() and not f.transitions.any() and not f.order.any()
    assert np.isfinite(f.glob).all()


@pytest.mark.parametrize(("tokens", "fixations", "message"), [
    pytest.param((), [], "no tokens", id="no-tokens"),
    pytest.param(TOKENS, fx((4, 0.1)), "4 tokens", id="token-out-of-range"),
    pytest.param(TOKENS, fx((-2, 0.1)), "use -1", id="negative-index"),
])
def test_bad_trials_raise(tokens: tuple, fixations: list, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        trial_features(tokens, fixations, participant=0)


def test_bad_values_raise() -> None:
    with pytest.raises(ModelError, match="duration_s"):
        Fixation(0, -0.1)
    with pytest.raises(ModelError, match="kind"):
        Token("image", "x")


def test_participant_index_unknown() -> None:
    table = {"P1": 1, "P2": 2}
    assert participant_index(table, "P2") == 2
    assert participant_index(table, "new") == UNKNOWN_PARTICIPANT
    assert participant_index(table, None) == UNKNOWN_PARTICIPANT


def test_batch_pads_and_masks() -> None:
    a = trial_features(TOKENS, fx((0, 0.2), (2, 0.2)), participant=1, stimulus=3)
    b = trial_features(TOKENS[:2], fx((1, 0.2)), participant=2)
    out = batch_inputs([(np.ones((4, 8), np.float32), a), (np.ones((2, 8), np.float32), b)])
    assert tuple(out) == INPUT_NAMES
    assert out["embedding"].shape == (2, 4, 8) and out["transitions"].shape == (2, 4, 4)
    assert out["mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert out["participant"].tolist() == [1, 2] and out["stimulus"].tolist() == [3, 0]
    assert not out["embedding"][1, 2:].any()
    with pytest.raises(ModelError, match="embeddings of shape"):
        batch_inputs([(np.ones((3, 8), np.float32), a)])


def test_batch_carries_region_features_where_given() -> None:
    from app.core.features import REGION_DIM

    a = trial_features(TOKENS, fx((0, 0.2)), participant=1)
    b = trial_features(TOKENS[:2], fx((1, 0.2)), participant=2)
    region = np.zeros((4, REGION_DIM), np.float32)
    region[3] = 1.0 / np.sqrt(REGION_DIM)
    out = batch_inputs([(np.ones((4, 8), np.float32), a, region), (np.ones((2, 8), np.float32), b)])
    assert out["region"].shape == (2, 4, REGION_DIM)
    np.testing.assert_array_equal(out["region"][0], region)
    assert not out["region"][1].any()  # no image at hand: zeros
    with pytest.raises(ModelError, match="region features of shape"):
        batch_inputs([(np.ones((4, 8), np.float32), a, region[:3])])
    region[0, 0] = np.nan
    with pytest.raises(ModelError, match="not all finite"):
        batch_inputs([(np.ones((4, 8), np.float32), a, region)])


def _random_trial(rng: np.random.Generator) -> tuple[list[Token], list[Fixation]]:
    n = int(rng.integers(1, 40))
    tokens = [Token("word" if rng.random() < 0.6 else "object", f"t{i}") for i in range(n)]
    m = int(rng.integers(0, 60))
    fixations = [Fixation(int(t), float(d)) for t, d in zip(rng.integers(-1, n, m), rng.uniform(0.0, 0.8, m),
                                                             strict=True)]
    if m and rng.random() < 0.3:
        fixations[0] = Fixation(fixations[0].token, 0.0)  # zero durations too
    return tokens, fixations


def _assert_identical(a: TrialFeatures, b: TrialFeatures) -> None:
    for name in ("kind", "position", "dwell", "order", "transitions", "glob"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
    assert (a.participant, a.stimulus) == (b.participant, b.stimulus)


def test_trial_features_are_bit_identical_to_the_reference_implementation() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        tokens, fixations = _random_trial(rng)
        _assert_identical(trial_features(tokens, fixations, 3, 2), reference_trial_features(tokens, fixations, 3, 2))


def test_a_running_tally_gives_the_features_of_every_prefix() -> None:
    rng = np.random.default_rng(12)
    for _ in range(40):
        tokens, fixations = _random_trial(rng)
        kind, position = token_layout(tokens)
        tally = GazeTally(len(tokens))
        _assert_identical(tally.features(kind, position, 1), reference_trial_features(tokens, [], 1))
        for i, f in enumerate(fixations):
            tally.add(f)
            _assert_identical(tally.features(kind, position, 1, 4),
                              reference_trial_features(tokens, fixations[:i + 1], 1, 4))


def test_a_tally_refuses_a_fixation_beyond_the_tokens() -> None:
    tally = GazeTally(2)
    with pytest.raises(ModelError, match="2 tokens"):
        tally.add(Fixation(2, 0.1))
    assert tally.total == 0  # nothing counted
