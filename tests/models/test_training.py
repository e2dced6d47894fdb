from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.streams import FIXATIONS
from app.inference.text_encoder import EmbeddingCache
from models.cross_validation import stratified_folds
from models.data import encode_examples, participant_table, pov_examples, stimulus_table
from models.model import ModelConfig
from models.recorded_trials import trials_from_streams
from models.train import TrainConfig, fit, predict_proba, set_determinism

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def few(shared_data: Path, tmp_path: Path) -> tuple[dict, ModelConfig]:
    examples = pov_examples(shared_data / "pov" / "fixations_dev.csv")[:16]
    parts, stims = participant_table(examples), stimulus_table(examples)
    inputs = encode_examples(examples, parts, EmbeddingCache(path=tmp_path / "e.npz"), stims)
    return inputs, ModelConfig(n_participants=len(parts) + 1, n_stimuli=len(stims) + 1)


def test_training_is_seeded_and_deterministic(few: tuple[dict, ModelConfig]) -> None:
    inputs, cfg = few
    set_determinism(0)
    tcfg = TrainConfig(epochs=2, batch_size=8, ensemble=2)
    a, hist = fit(inputs, np.arange(16), cfg, tcfg)
    b, _ = fit(inputs, np.arange(16), cfg, tcfg)
    c, _ = fit(inputs, np.arange(16), cfg, TrainConfig(epochs=2, batch_size=8, ensemble=2, seed=1))
    for (name, wa), wb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(wa, wb), name
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values(), strict=True))
    assert len(hist) == 4 and all(np.isfinite(h["loss"]) for h in hist)
    p = predict_proba(a, inputs, np.arange(16))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_ablations_ignore_their_inputs(few: tuple[dict, ModelConfig]) -> None:
    inputs, cfg = few
    from dataclasses import replace

    for ablated, key in [({"use_gaze": False}, "transitions"), ({"use_participant": False}, "participant")]:
        model, _ = fit(inputs, np.arange(16), replace(cfg, **ablated), TrainConfig(epochs=1, batch_size=8))
        changed = dict(inputs)
        changed[key] = np.zeros_like(inputs[key]) if key == "transitions" else inputs[key] * 0 + 1
        changed["dwell"] = np.zeros_like(inputs["dwell"]) if key == "transitions" else inputs["dwell"]
        np.testing.assert_allclose(predict_proba(model, inputs, np.arange(16)),
                                   predict_proba(model, changed, np.arange(16)), atol=1e-6)


def test_region_pathway_stays_zero_without_images(few: tuple[dict, ModelConfig]) -> None:
    """Trained on trials without images (all-zero ``region``), the region projection stays exactly zero, so region
    features fed later change nothing: a release-trained model cannot be swayed by inputs it never learnt from."""
    inputs, cfg = few
    assert not inputs["region"].any()
    model, _ = fit(inputs, np.arange(16), cfg, TrainConfig(epochs=2, batch_size=8, ensemble=2))
    weights = [p for n, p in model.named_parameters() if n.endswith(".region")]
    assert len(weights) == 2 and all(not w.detach().any() for w in weights)
    changed = dict(inputs)
    changed["region"] = np.random.default_rng(0).random(inputs["region"].shape).astype(np.float32)
    np.testing.assert_array_equal(predict_proba(model, inputs, np.arange(16)),
                                  predict_proba(model, changed, np.arange(16)))


def test_region_features_are_learnt_when_present(few: tuple[dict, ModelConfig]) -> None:
    """When the answer depends only on what the image regions show, the model learns it from ``region``; with the
    regions blanked the same model cannot (the pathway carries the signal)."""
    inputs, cfg = few
    rng = np.random.default_rng(1)
    n = 96
    idx = np.arange(n) % 16
    data = {k: v[idx].copy() for k, v in inputs.items()}
    data["participant"][:] = 0
    data["stimulus"][:] = 0
    data["transitions"][:] = 0
    data["dwell"][:] = 0
    y = rng.integers(0, 2, n)
    protos = rng.normal(size=(2, inputs["region"].shape[-1]))
    region = protos[y][:, None, :] + 0.3 * rng.normal(size=(n, data["region"].shape[1], protos.shape[1]))
    region /= np.linalg.norm(region, axis=-1, keepdims=True)
    data["region"] = (region * data["mask"][..., None]).astype(np.float32)
    data["label"] = y.astype(np.int64)
    train, test = np.arange(64), np.arange(64, n)
    model, _ = fit(data, train, cfg, TrainConfig(epochs=15, batch_size=16, ensemble=1, weight_decay=0.0, lr=3e-3))
    acc = (predict_proba(model, data, test).argmax(1) == y[test]).mean()
    blank = dict(data)
    blank["region"] = np.zeros_like(data["region"])
    acc_blank = (predict_proba(model, blank, test).argmax(1) == y[test]).mean()
    assert acc >= 0.9, acc
    assert acc_blank <= 0.75, acc_blank


def test_stratified_folds_partition_and_balance() -> None:
    labels = np.array([0] * 50 + [1] * 15 + [2] * 10)
    folds = stratified_folds(labels, 5)
    assert sorted(np.concatenate(folds).tolist()) == list(range(75))
    assert all(np.sum(labels[f] == 2) == 2 for f in folds)


def test_session_streams_become_examples() -> None:
    markers = ["SESSION_START demo", "TRIALID 1", "!V TRIAL_VAR trial_id cat", "!V TRIAL_VAR practice 1",
               "!V IAREA RECTANGLE 1 0 0 10 10 txt_a", "!V IAREA RECTANGLE 2 10 0 20 10 txt_Cat",
               "!V IAREA FREEHAND 3 0,20 10,20 10,30 vis_cat", "!V TRIAL_VAR response no", "TRIAL_RESULT 1",
               "TRIALID 2", "!V TRIAL_VAR trial_id dog", "!V IAREA RECTANGLE 1 0 0 10 10 txt_dog",
               "TRIAL_RESULT -1"]
    col = {c: i for i, c in enumerate(FIXATIONS.channels)}
    rows = np.zeros((4, len(FIXATIONS.channels)))
    for r, (trial, aoi, onset) in enumerate([(1, 3, 2.0), (1, 2, 1.0), (1, -1, 1.5), (2, 1, 5.0)]):
        rows[r, col["trial_number"]], rows[r, col["aoi_index"]] = trial, aoi
        rows[r, col["onset"]], rows[r, col["duration"]] = onset, 0.2
    examples = trials_from_streams(markers, rows, "S01", "x.xdf")
    assert len(examples) == 1  # the timed-out trial teaches nothing
    e = examples[0]
    assert e.label == 1 and e.image_id == "cat" and e.participant == "S01"
    assert [(t.kind, t.text) for t in e.tokens] == [("word", "a"), ("word", "cat"), ("object", "cat")]
    assert [f.token for f in e.fixations] == [1, -1, 2]  # sorted by onset, 1-based AOI -> token index


def test_torchrun_ddp_two_gloo_processes(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                           "29517", "-m", "models.train", "--pov-csv", str(shared_data / "pov" / "fixations_dev.csv"),
                           "--out", str(out), "--epochs", "2", "--limit", "40", "--cache", str(tmp_path / "e.npz")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["world_size"] == 2
    assert (out / "checkpoint.pt").is_file() and (out / "curves.png").is_file()


def test_personalisation_curve_uses_the_participants_answers() -> None:
    from models.data import Example
    from models.personalisation_curve import curve

    # 10 participants x 9 trials; the model always says YES; half the participants always answer NO
    examples, z = [], {}
    for p in range(10):
        for t in range(9):
            examples.append(Example((), (), f"P{p}", f"I{t}", 1 if p < 5 else 0, "synthetic"))
            z[len(examples) - 1] = np.array([1.0, 0.0, 0.0])
    out = curve(examples, z, [0, 2, 8], sigma=1.0)
    acc = {n: out["shots"][n]["accuracy"] for n in ("0", "2", "8")}
    assert acc["0"] == pytest.approx(0.5) and acc["8"] == pytest.approx(1.0) and acc["2"] >= acc["0"]
    assert out["rich_participants"] == 10


def test_logistic_regression_baseline_learns_a_separable_rule() -> None:
    from models.cross_validation import logistic_regression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    y = np.argmax(x, axis=1)
    assert np.mean(logistic_regression(x[:60], y[:60], x[60:], l2=0.1) == y[60:]) > 0.8


@pytest.mark.slow
def test_cli_train_export_evaluate(shared_data: Path, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    from app.cli import main

    lines = (shared_data / "pov" / "fixations_dev.csv").read_text(encoding="utf-8").splitlines()
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines[:41]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["model", "train", "--pov-csv", str(small), "--out", str(out), "--epochs", "2", "--ablate", "gaze"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["model_config"]["use_gaze"] is False and (out / "curves.png").stat().st_size > 1000
    assert main(["model", "export-onnx", str(out / "checkpoint.pt"), "--out", str(out / "m.onnx")]) == 0
    capfd.readouterr()
    assert main(["model", "evaluate", "--pov-csv", str(small), "--model", str(out / "m.onnx"), "--cpu"]) == 0
    assert json.loads(capfd.readouterr().out.strip().splitlines()[-1])["n"] == 40
