from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelError
from app.core.features import FEATURE_VERSION, INPUT_NAMES, INPUT_NAMES_V1, REGION_DIM
from app.inference.onnx_model import CPU, load_fusion_model
from tests.unit.inference.conftest import rewrite_metadata

onnx = pytest.importorskip("onnx")


def random_inputs(rng: np.random.Generator, b: int, t: int, region: bool = True) -> dict[str, np.ndarray]:
    """Model inputs of batch ``b`` and ``t`` tokens; ``region`` False gives all-zero region features."""
    return {
        "embedding": rng.standard_normal((b, t, 384)).astype(np.float32),
        "kind": rng.integers(0, 2, (b, t)), "position": rng.integers(0, 30, (b, t)),
        "dwell": rng.random((b, t, 8)).astype(np.float32), "order": rng.integers(0, 20, (b, t)),
        "transitions": rng.random((b, t, t)).astype(np.float32), "mask": np.ones((b, t), np.float32),
        "glob": rng.random((b, 8)).astype(np.float32), "participant": rng.integers(0, 5, b),
        "stimulus": rng.integers(0, 5, b),
        "region": (rng.random if region else np.zeros)((b, t, REGION_DIM)).astype(np.float32),
    }


def tiny_graph(dst: Path, with_metadata: bool) -> Path:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])
    model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["logits"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    if with_metadata:
        helper.set_model_props(model, {"povlab.config": "{}", "povlab.feature_version": "1"})
    onnx.save(model, str(dst))
    return dst


def test_bundled_model_loads_on_cpu_and_says_so(bundled_model: Path) -> None:
    m = load_fusion_model(bundled_model, prefer_cuda=False)
    assert m.provider == CPU and m.provider_note
    assert m.labels == ("YES", "NO", "UNCLEAR")
    assert m.feature_version <= FEATURE_VERSION and len(m.data_sha256) == 64
    assert len(m.participants) > 50


def test_cuda_is_tried_then_cpu_with_a_reason(bundled_model: Path) -> None:
    m = load_fusion_model(bundled_model, prefer_cuda=True)
    assert m.provider in ("CUDAExecutionProvider", CPU)
    if m.provider == CPU:
        assert "CPU" in m.provider_note


@pytest.mark.parametrize(("make", "message"), [
    pytest.param(lambda p, src: p.write_bytes(b"PK\x03\x04 not onnx at all") and p, "not an ONNX model",
                 id="not-onnx"),
    pytest.param(lambda p, src: tiny_graph(p, with_metadata=False), "without POV Lab metadata", id="no-metadata"),
    pytest.param(lambda p, src: tiny_graph(p, with_metadata=True), "wrong inputs", id="wrong-inputs"),
    pytest.param(lambda p, src: rewrite_metadata(src, p, **{"povlab.feature_version": str(FEATURE_VERSION + 1)}),
                 "newer than this app", id="newer-feature-version"),
    pytest.param(lambda p, src: rewrite_metadata(src, p, **{"povlab.config": "{not json"}), "unreadable",
                 id="broken-metadata"),
])
def test_bad_model_files(tmp_path: Path, bundled_model: Path, make, message: str) -> None:
    path = tmp_path / "model.onnx"
    make(path, bundled_model)
    with pytest.raises(ModelError, match=message):
        load_fusion_model(path, prefer_cuda=False)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_fusion_model(tmp_path / "none.onnx")


def test_runs_dynamic_batch_and_tokens(bundled_model: Path) -> None:
    m = load_fusion_model(bundled_model, prefer_cuda=False)
    rng = np.random.default_rng(0)
    for b, t in [(1, 1), (3, 17), (2, 60)]:
        inputs = random_inputs(rng, b, t)
        assert set(inputs) == set(INPUT_NAMES)
        assert m.logits(inputs).shape == (b, 3)


def feature_version_1_copy(src: Path, dst: Path) -> Path:
    """The bundled model as a feature-version-1 file: no ``region`` input (zeros made inside the graph instead)."""
    from onnx import TensorProto, helper

    proto = onnx.load(str(src))
    graph = proto.graph
    region = next(i for i in graph.input if i.name == "region")
    graph.input.remove(region)
    nodes = [
        helper.make_node("Shape", ["embedding"], ["v1_shape"]),
        helper.make_node("Slice", ["v1_shape", "v1_start", "v1_end"], ["v1_bt"]),
        helper.make_node("Concat", ["v1_bt", "v1_dim"], ["v1_region_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["v1_region_shape"], ["region"],
                         value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
    ]
    graph.initializer.extend([helper.make_tensor("v1_start", TensorProto.INT64, [1], [0]),
                              helper.make_tensor("v1_end", TensorProto.INT64, [1], [2]),
                              helper.make_tensor("v1_dim", TensorProto.INT64, [1], [REGION_DIM])])
    for node in reversed(nodes):
        graph.node.insert(0, node)
    for entry in proto.metadata_props:
        if entry.key == "povlab.feature_version":
            entry.value = "1"
    # a model of that time recorded no sha256 of itself
    keep = [(e.key, e.value) for e in proto.metadata_props if e.key != "povlab.model_sha256"]
    del proto.metadata_props[:]
    for key, value in keep:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(dst))
    return dst


def test_feature_version_1_model_still_runs(tmp_path: Path, bundled_model: Path) -> None:
    """A model exported before image-region features (no ``region`` input) loads and is fed only its inputs."""
    old = load_fusion_model(feature_version_1_copy(bundled_model, tmp_path / "v1.onnx"), prefer_cuda=False)
    new = load_fusion_model(bundled_model, prefer_cuda=False)
    assert old.feature_version == 1 and old.input_names == INPUT_NAMES_V1
    inputs = random_inputs(np.random.default_rng(3), 2, 9, region=False)
    np.testing.assert_allclose(old.logits(inputs), new.logits(inputs), atol=1e-5)
    assert not old.uses_regions and not new.uses_regions
