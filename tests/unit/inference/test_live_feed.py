"""The live update's fast path (app/inference/live_feed.py) gives the plain path's numbers, and is the one used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelError
from app.core.features import Fixation
from app.core.layout import layout_trial
from app.core.protocol import load_protocol
from app.inference import predictor as predictor_module
from app.inference.onnx_model import softmax
from app.inference.predictor import LivePredictor

TOL = 1e-6


@pytest.fixture
def predictor(bundled_model: Path, demo_protocol_path: Path, tmp_path: Path) -> LivePredictor:
    return LivePredictor.load(bundled_model, load_protocol(demo_protocol_path), cache_dir=tmp_path,
                              prefer_cuda=False)


def _trials(demo_protocol_path: Path) -> list[tuple[str, int]]:
    protocol = load_protocol(demo_protocol_path)
    return [(t.trial_id, len(layout_trial(protocol, t).aois)) for t in protocol.all_trials]


def _lists(n_aois: int, seed: int, length: int = 25) -> list[tuple[int, float]]:
    rng = np.random.default_rng(seed)
    return [(int(a), float(d)) for a, d in zip(rng.integers(-1, n_aois, length), rng.uniform(0.05, 0.6, length),
                                               strict=True)]


def _same(predictor: LivePredictor, tid: str, participant: str | None, fixations: list) -> np.ndarray:
    got = predictor.update(tid, participant, fixations)
    want = softmax(predictor.logits_reference(tid, participant, fixations))
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)
    return got


def test_growing_lists_on_every_trial_match_the_plain_path(predictor: LivePredictor,
                                                           demo_protocol_path: Path) -> None:
    trials = _trials(demo_protocol_path)
    assert len(trials) >= 3
    for i, (tid, n_aois) in enumerate(trials):
        fixations = _lists(n_aois, seed=i)
        for k in range(len(fixations) + 1):  # as the session calls it: one more fixation each time
            _same(predictor, tid, "P01", fixations[:k])
    assert sum(f.runs for f in predictor.feeds.values()) == sum(len(_lists(n, 0)) + 1 for _, n in trials)


def test_interleaved_trials_participants_restarts_and_fixation_objects(predictor: LivePredictor,
                                                                       demo_protocol_path: Path) -> None:
    (t1, n1), (t2, n2) = _trials(demo_protocol_path)[:2]
    a, b = _lists(n1, 1), _lists(n2, 2)
    seen = set()
    for k in range(1, 12):  # two trials fed in turn: each feed keeps its own tally and buffers
        seen.add(tuple(_same(predictor, t1, "P01", a[:k])))
        seen.add(tuple(_same(predictor, t2, None, b[:k])))
    assert len(seen) > 15  # the numbers really change between calls (no stale buffer read twice)
    _same(predictor, t1, "P-unknown", a[:11])  # another participant row, same tally
    _same(predictor, t1, "P01", a[:4])  # shorter: the trial started again
    _same(predictor, t1, "P01", b[:6])  # a different list of the same length class
    _same(predictor, t1, "P01", [])
    _same(predictor, t1, "P01", [Fixation(t, d) for t, d in a[:7]])
    _same(predictor, t1, "P01", tuple(a[:9]))


def test_personal_bias_is_applied_on_the_fast_path(predictor: LivePredictor, demo_protocol_path: Path) -> None:
    tid, n = _trials(demo_protocol_path)[0]
    before = _same(predictor, tid, "P01", _lists(n, 3)[:5])
    predictor.personalise("P01", [(tid, _lists(n, 4)[:6], "no"), (tid, _lists(n, 5)[:3], "no")])
    after = _same(predictor, tid, "P01", _lists(n, 3)[:5])
    assert after[1] > before[1]


def test_a_bad_fixation_is_refused_and_the_feed_recovers(predictor: LivePredictor, demo_protocol_path: Path) -> None:
    tid, n = _trials(demo_protocol_path)[0]
    good = _lists(n, 6)[:5]
    _same(predictor, tid, "P01", good)
    with pytest.raises(ModelError, match=f"{n} tokens"):
        predictor.update(tid, "P01", [*good, (0, 0.2), (n, 0.2)])
    with pytest.raises(ModelError, match="duration_s"):
        predictor.update(tid, "P01", [*good, (0, float("nan"))])
    _same(predictor, tid, "P01", [*good, (0, 0.2)])


def test_updates_use_the_fast_path(predictor: LivePredictor, demo_protocol_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails when an update goes back to recomputing the whole list, padding a batch, or session.run."""
    tid, n = _trials(demo_protocol_path)[0]
    fixations = _lists(n, 7)
    want = [softmax(predictor.logits_reference(tid, "P01", fixations[:k])) for k in range(1, 10)]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plain path was used for a live update")

    monkeypatch.setattr(predictor_module, "trial_features", refuse)
    monkeypatch.setattr(predictor_module, "batch_inputs", refuse)
    monkeypatch.setattr(predictor.model, "logits", refuse)
    feed = predictor.feeds[tid]  # made (and warmed) when the predictor was built, not per update
    assert feed.runs == 0 and feed.tally.total == 0

    class NoRun:
        def __init__(self, session: object) -> None:
            self._s = session

        def run(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("session.run used for a live update")

        def __getattr__(self, name: str) -> object:
            return getattr(self._s, name)

    monkeypatch.setattr(predictor.model, "session", NoRun(predictor.model.session))
    for k in range(1, 10):
        np.testing.assert_allclose(predictor.update(tid, "P01", fixations[:k]), want[k - 1], atol=TOL, rtol=0)
    assert predictor.feeds[tid] is feed and feed.runs == 9 and feed.tally.total == 9  # each fixation counted once
