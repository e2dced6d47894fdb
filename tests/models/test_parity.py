"""Torch and ONNX Runtime agree within 1e-4 on random and on real inputs (the bundled model and a fresh export)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.paths import BUNDLED_MODEL
from app.inference.onnx_model import load_fusion_model
from app.inference.text_encoder import EmbeddingCache
from models.data import encode_examples, pov_examples
from models.export import example_inputs, export_onnx
from models.train import load_checkpoint

BUNDLED_CHECKPOINT = BUNDLED_MODEL.with_suffix(".pt")
TOL = 1e-4


def assert_parity(checkpoint: Path, onnx_path: Path, inputs: dict[str, np.ndarray]) -> None:
    model, _ = load_checkpoint(checkpoint)
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
    got = load_fusion_model(onnx_path, prefer_cuda=False).logits(inputs)
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)


@pytest.mark.parametrize(("batch", "tokens", "seed"), [
    pytest.param(1, 1, 0, id="one-token"),
    pytest.param(4, 23, 1, id="typical"),
    pytest.param(3, 64, 2, id="long"),
])
def test_bundled_model_random_inputs(batch: int, tokens: int, seed: int) -> None:
    model, _ = load_checkpoint(BUNDLED_CHECKPOINT)
    inputs = {k: v.numpy() for k, v in example_inputs(model, batch, tokens, seed).items()}
    assert_parity(BUNDLED_CHECKPOINT, BUNDLED_MODEL, inputs)


def test_bundled_model_real_inputs(shared_data: Path, tmp_path: Path) -> None:
    examples = pov_examples(shared_data / "pov" / "fixations_dev.csv")[::40]
    _, ck = load_checkpoint(BUNDLED_CHECKPOINT)
    inputs = encode_examples(examples, ck["participants"], EmbeddingCache(path=tmp_path / "e.npz"), ck["stimuli"])
    inputs.pop("label")
    assert inputs["embedding"].shape[0] == len(examples) >= 15
    assert_parity(BUNDLED_CHECKPOINT, BUNDLED_MODEL, inputs)


def test_bundled_model_metadata_matches_checkpoint() -> None:
    _, ck = load_checkpoint(BUNDLED_CHECKPOINT)
    m = load_fusion_model(BUNDLED_MODEL, prefer_cuda=False)
    assert m.participants == ck["participants"]
    assert m.data_sha256 == ck["data_sha256"]
    assert m.feature_version == ck["feature_version"]


@pytest.mark.slow
def test_fresh_export_parity(tiny_checkpoint: Path, tmp_path: Path) -> None:
    onnx_path = export_onnx(tiny_checkpoint, tmp_path / "tiny.onnx")
    model, _ = load_checkpoint(tiny_checkpoint)
    for batch, tokens, seed in [(1, 3, 0), (5, 31, 1)]:
        inputs = {k: v.numpy() for k, v in example_inputs(model, batch, tokens, seed).items()}
        assert_parity(tiny_checkpoint, onnx_path, inputs)
