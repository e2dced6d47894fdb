"""RegionEncoder: EfficientNet-Lite0 features of polygon regions with ONNX Runtime (the file is exported once per
test session by the ``image_encoder_path`` fixture in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelError
from app.core.features import REGION_DIM
from app.core.paths import ASSETS_DIR, BUNDLED_MODEL
from app.inference.region_encoder import RegionEncoder, default_image_encoder_path, region_box

CHELSEA = ASSETS_DIR / "images" / "chelsea.jpg"  # 451 x 300
FACE = [(140.0, 20.0), (330.0, 20.0), (330.0, 210.0), (140.0, 210.0)]
CORNER = [(5.0, 250.0), (90.0, 250.0), (90.0, 299.0), (5.0, 299.0)]


def box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


@pytest.fixture(scope="module")
def encoder(image_encoder_path: Path) -> RegionEncoder:
    return RegionEncoder.load(image_encoder_path)


def manual_features(encoder: RegionEncoder, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The crop made by hand and run through the ONNX session directly (no RegionEncoder code)."""
    import cv2

    crop = cv2.imread(str(CHELSEA))[y0:y1, x0:x1, ::-1]  # BGR -> RGB
    x = (cv2.resize(np.ascontiguousarray(crop), (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
         - 127.0) / 128.0
    f = encoder.session.run(["features"], {"image": x.transpose(2, 0, 1)[None]})[0][0]
    return f / np.linalg.norm(f)


def test_name_identifies_the_weights(encoder: RegionEncoder) -> None:
    assert encoder.name.startswith("efficientnet-lite0:") and len(encoder.name.split(":")[1]) == 12


def test_different_regions_differ_same_region_is_identical(encoder: RegionEncoder) -> None:
    f = encoder.encode(CHELSEA, [FACE, CORNER, FACE])
    assert f.shape == (3, REGION_DIM) and f.dtype == np.float32
    np.testing.assert_array_equal(f[0], f[2])
    assert float(f[0] @ f[1]) < 0.9
    np.testing.assert_array_equal(encoder.encode(CHELSEA, [FACE])[0], f[0])


def test_unit_norm(encoder: RegionEncoder) -> None:
    f = encoder.encode(CHELSEA, [FACE, CORNER, box(0, 0, 451, 300)])
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(("polygon", "pixels"), [
    pytest.param(FACE, (140, 20, 330, 210), id="inside"),
    pytest.param([(140.4, 20.6), (329.2, 100.0), (200.0, 209.5)], (140, 20, 330, 210), id="triangle-fractional"),
    pytest.param(box(-50, 250, 90, 400), (0, 250, 90, 300), id="clamped"),
    pytest.param(box(100, 100, 102, 103), (93, 93, 109, 109), id="tiny-grown-to-16"),
    pytest.param(box(447, 0, 460, 5), (435, 0, 451, 16), id="tiny-at-corner-stays-inside"),
])
def test_region_equals_manual_crop(encoder: RegionEncoder, polygon: list, pixels: tuple[int, int, int, int]) -> None:
    assert region_box(polygon, 451, 300) == pixels
    np.testing.assert_allclose(encoder.encode(CHELSEA, [polygon])[0], manual_features(encoder, *pixels), atol=1e-5)


def test_empty_list(encoder: RegionEncoder) -> None:
    assert encoder.encode(CHELSEA, []).shape == (0, REGION_DIM)


@pytest.mark.parametrize(("image", "polygons", "message"), [
    pytest.param(CHELSEA, [box(500, 10, 600, 50)], "outside the 451x300 image", id="outside"),
    pytest.param(CHELSEA, [box(-30, -30, -1, -1)], "outside", id="outside-negative"),
    pytest.param(CHELSEA, [[]], "list of (x, y) points", id="no-points"),
    pytest.param(CHELSEA, [box(0, 0, float("nan"), 10)], "non-finite", id="nan"),
    pytest.param(Path("/nonexistent/cat.jpg"), [FACE], "cat.jpg: image missing or not decodable", id="missing-image"),
    pytest.param(ASSETS_DIR / "images" / "SOURCES.md", [FACE], "SOURCES.md: image missing", id="not-an-image"),
])
def test_bad_input(encoder: RegionEncoder, image: Path, polygons: list, message: str) -> None:
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        encoder.encode(image, polygons)
    assert "\n" not in str(err.value)


def test_load_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVLAB_CACHE", str(tmp_path / "cache"))
    assert default_image_encoder_path() == tmp_path / "cache" / "models" / "efficientnet_lite0.onnx"
    with pytest.raises(ModelError, match="image encoder not found; run: povlab model export-image-encoder"):
        RegionEncoder.load()
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="junk.onnx: not an ONNX model") as err:
        RegionEncoder.load(junk)
    assert "\n" not in str(err.value)
    with pytest.raises(ModelError, match="not an image encoder"):
        RegionEncoder.load(BUNDLED_MODEL)  # ONNX, but the fusion model's inputs and outputs


def test_cli_runs_the_training_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.commands.model as model_cmd
    from app.cli import main

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(model_cmd, "_training_layer", lambda module, argv: calls.append((module, argv)) or 0)
    monkeypatch.setenv("POVLAB_CACHE", str(tmp_path))
    assert main(["model", "export-image-encoder"]) == 0
    assert main(["model", "export-image-encoder", "--out", str(tmp_path / "x.onnx"), "--if-stale"]) == 0
    assert calls == [("models.efficientnet_lite0", ["--out", str(tmp_path / "models" / "efficientnet_lite0.onnx")]),
                     ("models.efficientnet_lite0", ["--out", str(tmp_path / "x.onnx"), "--if-stale"])]
