"""Model files: metadata type-checked, one-label models refused, a flipped byte caught by the recorded sha256."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ModelError
from app.inference.model_integrity import DIGEST_KEY
from app.inference.onnx_model import load_fusion_model
from tests.unit.inference.conftest import rewrite_metadata


@pytest.mark.parametrize(("changes", "message"), [
    pytest.param({"povlab.config": "[1, 2]"}, "povlab.config must be a JSON object", id="config-a-list"),
    pytest.param({"povlab.config": '{"emb_dim": "x"}'}, "emb_dim must be an integer", id="emb-dim-string"),
    pytest.param({"povlab.participants": "[1]"}, "povlab.participants", id="participants-a-list"),
    pytest.param({"povlab.participants": '{"p": "x"}'}, "expected an integer", id="participant-row-string"),
    pytest.param({"povlab.stimuli": '["a"]'}, "povlab.stimuli", id="stimuli-a-list"),
    pytest.param({"povlab.stimulus_labels": "not json"}, "stimulus_labels is unreadable", id="labels-not-json"),
    pytest.param({"povlab.stimulus_labels": '{"a": 3}'}, "list of strings", id="stimulus-labels-wrong"),
    pytest.param({"povlab.labels": '["YES"]'}, "exactly ['YES', 'NO', 'UNCLEAR']", id="one-label"),
    pytest.param({"povlab.labels": '["NO", "YES", "UNCLEAR"]'}, "in this order", id="labels-reordered"),
    pytest.param({"povlab.feature_version": "x"}, "feature_version", id="version-not-int"),
    pytest.param({"povlab.config": "[" * 100_000}, "unreadable", id="config-nested-deep"),
])
def test_bad_metadata_is_a_model_error(tmp_path: Path, bundled_model: Path, changes: dict[str, str],
                                       message: str) -> None:
    model = rewrite_metadata(bundled_model, tmp_path / "m.onnx", **changes)
    with pytest.raises(ModelError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_fusion_model(model, prefer_cuda=False)


def test_bundled_model_records_its_sha256(bundled_model: Path) -> None:
    m = load_fusion_model(bundled_model, prefer_cuda=False)
    assert len(m.metadata[DIGEST_KEY]) == 64


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_a_flipped_byte_is_refused(tmp_path: Path, bundled_model: Path, where: float) -> None:
    data = bytearray(bundled_model.read_bytes())
    i = int(len(data) * where)
    data[i] ^= 0x01
    bad = tmp_path / "flipped.onnx"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        load_fusion_model(bad, prefer_cuda=False)


def test_an_edit_without_resealing_is_caught(tmp_path: Path, bundled_model: Path) -> None:
    model = rewrite_metadata(bundled_model, tmp_path / "m.onnx", seal=False, **{"povlab.participants": '{"a": 1}'})
    with pytest.raises(ModelError, match="sha256"):
        load_fusion_model(model, prefer_cuda=False)
