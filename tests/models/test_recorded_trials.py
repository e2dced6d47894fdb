"""This app's own recordings are training data: a headless demo session's XDF -> examples -> a trained model,
with image-region features from the session folder's protocol and stimuli."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from app.cli import main
from app.core.errors import RecordingError
from app.core.layout import layout_trial
from app.core.pov_release import clean_label
from app.core.protocol import load_protocol
from app.inference.predictor import LivePredictor
from app.inference.region_encoder import RegionEncoder
from models.recorded_trials import region_source, session_examples, trial_regions
from models.train import load_checkpoint


@pytest.fixture(scope="module")
def demo_sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sessions")
    assert main(["demo", "--headless", "--duration", "30", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_demo_session_xdf_trains_a_model(demo_sessions: Path, tmp_path: Path) -> None:
    examples = session_examples(demo_sessions)
    assert examples, "the demo session's XDF gave no answered trials"
    assert all(e.participant == "demo" and e.label in (0, 1, 2) and e.tokens for e in examples)
    assert any(e.fixations for e in examples)
    assert all(e.regions is None for e in examples)  # no encoder given: gaze and words only
    out = tmp_path / "model"
    assert main(["model", "train", "--sessions", str(demo_sessions), "--out", str(out), "--epochs", "1",
                 "--no-image-regions"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n_examples"] == len(examples) and report["uses_regions"] is False


@pytest.mark.slow
def test_session_trials_train_on_image_regions_and_use_them_live(demo_sessions: Path, image_encoder_path: Path,
                                                                 tmp_path: Path) -> None:
    encoder = RegionEncoder.load(image_encoder_path)
    examples = session_examples(demo_sessions, encoder)
    with_regions = [e for e in examples if e.regions is not None]
    assert with_regions and len(with_regions) == len(examples)
    for e in with_regions:
        objects = [i for i, t in enumerate(e.tokens) if t.kind == "object"]
        words = [i for i, t in enumerate(e.tokens) if t.kind == "word"]
        assert not e.regions[words].any()
        np.testing.assert_allclose(np.linalg.norm(e.regions[objects], axis=1), 1.0, atol=1e-5)

    out = tmp_path / "model"
    assert main(["model", "train", "--sessions", str(demo_sessions), "--out", str(out), "--epochs", "3",
                 "--ensemble", "2", "--image-encoder", str(image_encoder_path)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["uses_regions"] is True and report["n_examples_with_regions"] == len(examples)
    assert report["image_encoder"] == encoder.name
    model, _ = load_checkpoint(out / "checkpoint.pt")
    assert all(m.region.detach().abs().sum() > 0 for m in model.members)  # the projection learnt something
    assert main(["model", "export-onnx", str(out / "checkpoint.pt"), "--out", str(tmp_path / "m.onnx")]) == 0

    protocol = load_protocol(demo_sessions.glob("**/protocol.toml").__next__())
    pred = LivePredictor.load(tmp_path / "m.onnx", protocol, cache_dir=tmp_path / "cache", prefer_cuda=False,
                              image_encoder=image_encoder_path)
    assert pred.model.uses_regions
    trial = next(t for t in protocol.all_trials if t.aois)
    n = len(layout_trial(protocol, trial).aois)
    fixations = [(k % n, 0.3) for k in range(5)]
    inputs = pred._inputs(trial.trial_id, "demo", fixations)
    assert inputs["region"].any()
    blank = dict(inputs, region=np.zeros_like(inputs["region"]))
    assert not np.allclose(pred.model.logits(inputs), pred.model.logits(blank))  # live predictions use regions
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
    np.testing.assert_allclose(pred.model.logits(inputs), ref, atol=1e-4, rtol=0)  # torch == ONNX with regions


def test_trial_regions_match_the_protocol_aois(demo_protocol_path: Path, image_encoder_path: Path) -> None:
    protocol = load_protocol(demo_protocol_path)
    encoder = RegionEncoder.load(image_encoder_path)
    trial = next(t for t in protocol.all_trials if t.aois)
    lay = layout_trial(protocol, trial)
    names = [clean_label(a.name) for a in lay.aois]
    regions = trial_regions(protocol, trial.trial_id, names, encoder)
    assert regions is not None and regions.shape == (len(names), 1280)
    objects = [i for i, a in enumerate(lay.aois) if a.kind == "object"]
    words = [i for i, a in enumerate(lay.aois) if a.kind == "word"]
    assert not regions[words].any()
    np.testing.assert_allclose(regions[objects], encoder.encode(trial.image, [a.polygon for a in trial.aois]),
                               atol=1e-6)
    # a recording whose AOIs do not match the protocol copy, or a trial the protocol lacks: no features, no guess
    assert trial_regions(protocol, trial.trial_id, names[:-1], encoder) is None
    assert trial_regions(protocol, "no-such-trial", names, encoder) is None


def test_region_source_needs_a_loadable_protocol(tmp_path: Path, image_encoder_path: Path) -> None:
    encoder = RegionEncoder.load(image_encoder_path)
    assert region_source(None, encoder) is None
    broken = tmp_path / "protocol.toml"
    broken.write_text("schema_version = [", encoding="utf-8")
    assert region_source(broken, encoder) is None


def test_sessions_folder_without_recordings(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no .xdf"):
        session_examples(tmp_path)
    with pytest.raises(RecordingError, match="not found"):
        session_examples(tmp_path / "missing")
