"""The stacked ensemble (the exported graph) gives PovEnsemble's logits, for the bundled model and for random weights
that make every branch count (transition bias, region projection, several layers, ablations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.paths import BUNDLED_MODEL
from models.export import example_inputs, export_onnx
from models.model import ModelConfig, PovEnsemble
from models.stacked import StackedEnsemble
from models.train import load_checkpoint

TOL = 2e-5


def _random_ensemble(cfg: ModelConfig, k: int, seed: int) -> PovEnsemble:
    """Every weight random and non-zero (a trained model's region projection and gaze scales can be zero)."""
    torch.manual_seed(seed)
    model = PovEnsemble(cfg, k)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return model.eval()


def _same(model: PovEnsemble, stacked: StackedEnsemble, cases: list[tuple[int, int, int]]) -> None:
    for batch, tokens, seed in cases:
        inputs = example_inputs(model, batch, tokens, seed)
        with torch.no_grad():
            np.testing.assert_allclose(stacked(**inputs).numpy(), model(**inputs).numpy(), atol=TOL, rtol=0)


def test_bundled_model() -> None:
    model, _ = load_checkpoint(BUNDLED_MODEL.with_suffix(".pt"))
    stacked = StackedEnsemble(model)
    # the bundled model never learnt from images or transitions (see models/stacked.py): those terms are left out
    assert not stacked.use_region and not any(stacked.gaze)
    _same(model, stacked, [(1, 1, 0), (1, 9, 1), (4, 23, 2), (3, 64, 3)])


@pytest.mark.parametrize(("cfg", "k"), [
    pytest.param(ModelConfig(n_participants=5, n_stimuli=4, n_layers=1), 3, id="one-layer"),
    pytest.param(ModelConfig(n_participants=5, n_stimuli=4, n_layers=3), 2, id="three-layers-gaze-bias"),
    pytest.param(ModelConfig(n_participants=5, n_stimuli=4, n_layers=2, use_gaze=False), 2, id="no-gaze"),
    pytest.param(ModelConfig(n_participants=5, n_stimuli=4, n_layers=2, use_participant=False,
                             use_stimulus=False), 1, id="one-member-no-ids"),
])
def test_random_weights(cfg: ModelConfig, k: int) -> None:
    model = _random_ensemble(cfg, k, seed=k)
    stacked = StackedEnsemble(model)
    assert stacked.use_region  # random region weights are used
    assert any(stacked.gaze) == (cfg.use_gaze and cfg.n_layers > 1)
    _same(model, stacked, [(1, 1, 0), (2, 7, 1), (3, 30, 2)])


def test_zero_terms_really_are_left_out_only_when_zero() -> None:
    cfg = ModelConfig(n_participants=3, n_stimuli=2, n_layers=2)
    model = _random_ensemble(cfg, 2, seed=7)
    with torch.no_grad():
        for m in model.members:
            m.region.zero_()
            for b in m.blocks:
                b.attn.gaze_scale.zero_()
    stacked = StackedEnsemble(model)
    assert not stacked.use_region and not any(stacked.gaze)
    _same(model, stacked, [(2, 7, 1)])
    with torch.no_grad():
        model.members[1].blocks[0].attn.gaze_scale[2, 1] = 0.5  # one scale of one head of one member
    stacked = StackedEnsemble(model)
    assert stacked.gaze == [True, False]  # the last block never needs it
    _same(model, stacked, [(2, 7, 1), (1, 12, 4)])


def test_fewer_nodes_than_the_members_one_after_the_other(tmp_path: Path) -> None:
    import onnx

    nodes = len(onnx.load(str(BUNDLED_MODEL)).graph.node)
    assert nodes <= 100  # the bundled model, exported stacked (359 nodes unstacked)


@pytest.mark.slow
def test_fresh_export_stacked_and_unstacked_agree(tiny_checkpoint: Path, tmp_path: Path) -> None:
    import onnx

    from app.inference.onnx_model import load_fusion_model

    stacked = load_fusion_model(export_onnx(tiny_checkpoint, tmp_path / "s.onnx"), prefer_cuda=False)
    plain = load_fusion_model(export_onnx(tiny_checkpoint, tmp_path / "p.onnx", stacked=False), prefer_cuda=False)
    assert len(onnx.load(str(stacked.path)).graph.node) * 3 < len(onnx.load(str(plain.path)).graph.node)
    assert {k: v for k, v in stacked.metadata.items() if k != "povlab.model_sha256"} == \
        {k: v for k, v in plain.metadata.items() if k != "povlab.model_sha256"}
    model, _ = load_checkpoint(tiny_checkpoint)
    for batch, tokens, seed in [(1, 3, 0), (5, 31, 1)]:
        inputs = {k: v.numpy() for k, v in example_inputs(model, batch, tokens, seed).items()}
        np.testing.assert_allclose(stacked.logits(inputs), plain.logits(inputs), atol=TOL, rtol=0)


def test_live_updates_give_the_ensembles_probabilities(demo_protocol_path: Path, tmp_path: Path) -> None:
    """The whole live path (fast feed + stacked graph in ONNX Runtime) against PovEnsemble in torch, the model the
    unstacked export was checked against: probabilities within 1e-5 on every trial, fixation by fixation."""
    from app.core.features import batch_inputs, participant_index, trial_features
    from app.core.protocol import load_protocol
    from app.inference.onnx_model import softmax
    from app.inference.predictor import LivePredictor, as_fixations

    model, _ = load_checkpoint(BUNDLED_MODEL.with_suffix(".pt"))
    predictor = LivePredictor.load(BUNDLED_MODEL, load_protocol(demo_protocol_path), cache_dir=tmp_path,
                                   prefer_cuda=False)
    rng = np.random.default_rng(0)
    worst = 0.0
    for tid, st in predictor.stimuli.items():
        n = len(st.tokens)
        fixations = [(int(a), float(d)) for a, d in zip(rng.integers(-1, n, 15), rng.uniform(0.08, 0.5, 15),
                                                        strict=True)]
        for participant in ("P01", next(iter(predictor.model.participants))):
            got = [predictor.update(tid, participant, fixations[:k]) for k in range(len(fixations) + 1)]
            row = participant_index(predictor.model.participants, participant)
            inputs = batch_inputs([(st.embedding, trial_features(st.tokens, as_fixations(fixations[:k]), row,
                                                                 st.stimulus), st.region)
                                   for k in range(len(fixations) + 1)])  # one padded batch: all prefixes
            with torch.no_grad():
                ref = softmax(model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).numpy())
            worst = max(worst, float(np.abs(np.array(got) - ref).max()))
    assert worst < 1e-5
