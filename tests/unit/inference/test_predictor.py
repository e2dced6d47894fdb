from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelError
from app.core.layout import layout_trial
from app.core.protocol import load_protocol
from app.inference import text_encoder
from app.inference.predictor import LivePredictor


@pytest.fixture
def predictor(bundled_model: Path, demo_protocol_path: Path, tmp_path: Path) -> LivePredictor:
    return LivePredictor.load(bundled_model, load_protocol(demo_protocol_path), cache_dir=tmp_path,
                              prefer_cuda=False)


def test_update_gives_probabilities_that_follow_the_gaze(predictor: LivePredictor, demo_protocol_path: Path) -> None:
    protocol = load_protocol(demo_protocol_path)
    trial = protocol.trials[0]
    n_aois = len(layout_trial(protocol, trial).aois)
    assert predictor.provider == "CPUExecutionProvider"
    assert predictor.labels == ("YES", "NO", "UNCLEAR")
    fixations: list[tuple[int, float]] = []
    seen = []
    for k in range(6):
        fixations.append((k % n_aois, 0.25))
        p = predictor.update(trial.trial_id, "P-new", fixations)
        assert p.shape == (3,) and p.sum() == pytest.approx(1.0) and (p > 0).all()
        seen.append(p)
    assert not np.allclose(seen[0], seen[-1])  # each completed fixation changes the prediction


def test_unknown_trial_is_a_clear_error(predictor: LivePredictor) -> None:
    with pytest.raises(ModelError, match="not in the protocol"):
        predictor.update("no-such-trial", "P1", [(0, 0.2)])


def test_personalise_moves_that_participant_only(predictor: LivePredictor, demo_protocol_path: Path) -> None:
    protocol = load_protocol(demo_protocol_path)
    practice = [(t.trial_id, [(0, 0.3), (1, 0.2)], "no") for t in protocol.all_trials]
    tid = protocol.trials[0].trial_id
    before = predictor.update(tid, "P-new", [(0, 0.3)])
    bias = predictor.personalise("P-new", practice)
    after = predictor.update(tid, "P-new", [(0, 0.3)])
    assert bias[1] > bias[0] and after[1] > before[1]
    np.testing.assert_allclose(predictor.update(tid, "P-other", [(0, 0.3)]), before)


def test_embeddings_are_cached_per_protocol(bundled_model: Path, demo_protocol_path: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = load_protocol(demo_protocol_path)
    LivePredictor.load(bundled_model, protocol, cache_dir=tmp_path, prefer_cuda=False)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_encoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("text encoder run although the protocol's embeddings are cached")

    monkeypatch.setattr(text_encoder, "TextEncoder", no_encoder)
    again = LivePredictor.load(bundled_model, protocol, cache_dir=tmp_path, prefer_cuda=False)
    assert again.update(protocol.trials[0].trial_id, None, []).shape == (3,)
