"""Image-region features in live use: a model trained on them gets EfficientNet-Lite0 features of each object AOI,
computed once per protocol and cached; a model trained without them needs no image encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelError
from app.core.layout import layout_trial
from app.core.protocol import load_protocol
from app.inference.predictor import LivePredictor
from app.inference.region_encoder import RegionEncoder
from tests.unit.inference.conftest import rewrite_metadata

pytest.importorskip("onnx")


def test_region_model_gets_each_object_aois_features(bundled_model: Path, demo_protocol_path: Path,
                                                     image_encoder_path: Path, tmp_path: Path) -> None:
    model = rewrite_metadata(bundled_model, tmp_path / "regions.onnx", **{"povlab.uses_regions": "1"})
    protocol = load_protocol(demo_protocol_path)
    pred = LivePredictor.load(model, protocol, cache_dir=tmp_path / "cache", prefer_cuda=False,
                              image_encoder=image_encoder_path)
    assert pred.model.uses_regions
    encoder = RegionEncoder.load(image_encoder_path)
    for trial in protocol.all_trials:
        lay = layout_trial(protocol, trial)
        region = pred.stimuli[trial.trial_id].region
        assert region is not None and region.shape == (len(lay.aois), 1280)
        words = [i for i, a in enumerate(lay.aois) if a.kind == "word"]
        objects = [i for i, a in enumerate(lay.aois) if a.kind == "object"]
        assert not region[words].any()
        expected = encoder.encode(trial.image, [a.polygon for a in trial.aois])
        np.testing.assert_allclose(region[objects], expected, atol=1e-6)
    assert list((tmp_path / "cache" / "regions").glob("*.npy"))  # cached for the next session
    inputs = pred._inputs(protocol.trials[0].trial_id, "P1", [(0, 0.2)])
    assert inputs["region"].any()


def test_cached_region_features_are_reused(bundled_model: Path, demo_protocol_path: Path,
                                           image_encoder_path: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    model = rewrite_metadata(bundled_model, tmp_path / "regions.onnx", **{"povlab.uses_regions": "1"})
    protocol = load_protocol(demo_protocol_path)
    first = LivePredictor.load(model, protocol, cache_dir=tmp_path, prefer_cuda=False,
                               image_encoder=image_encoder_path)

    def no_encoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("encoded again although the cache holds the features")

    monkeypatch.setattr(RegionEncoder, "encode", no_encoding)
    second = LivePredictor.load(model, protocol, cache_dir=tmp_path, prefer_cuda=False,
                                image_encoder=image_encoder_path)
    for tid, st in first.stimuli.items():
        np.testing.assert_array_equal(st.region, second.stimuli[tid].region)


def test_region_model_without_the_encoder_is_one_clear_error(bundled_model: Path, demo_protocol_path: Path,
                                                             tmp_path: Path) -> None:
    model = rewrite_metadata(bundled_model, tmp_path / "regions.onnx", **{"povlab.uses_regions": "1"})
    with pytest.raises(ModelError, match="export-image-encoder"):
        LivePredictor.load(model, load_protocol(demo_protocol_path), cache_dir=tmp_path, prefer_cuda=False,
                           image_encoder=tmp_path / "missing.onnx")


def test_bundled_model_needs_no_image_encoder(bundled_model: Path, demo_protocol_path: Path, tmp_path: Path) -> None:
    pred = LivePredictor.load(bundled_model, load_protocol(demo_protocol_path), cache_dir=tmp_path,
                              prefer_cuda=False, image_encoder=tmp_path / "missing.onnx")
    assert not pred.model.uses_regions
    assert all(st.region is None for st in pred.stimuli.values())
