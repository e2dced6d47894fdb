"""Retraining on a lab's own study: ``python -m models.study_training --study DIR --out MODEL_DIR``.

Every answered trial recorded under the study folder (``session_examples``) is used twice:
1. k-fold cross-validation by trial (stratified by answer, as :mod:`models.cross_validation` does on the POV
   release), scoring on the same folds the model, always-YES, and the participant-and-image prior (a
   multinomial logistic regression on participant and image identity alone: what the ids tell without gaze);
2. one model trained on all of them, exported to ``MODEL_DIR/model.onnx`` for the next sessions.

``MODEL_DIR`` is written as ``MODEL_DIR.partial`` and renamed when everything is there, so a cancelled or
failed run leaves no half model behind. It holds ``model.onnx``, ``checkpoint.pt``, ``figures.json`` (the
cross-validation and what it was computed on) and ``report.json`` (the training run).

Progress for a caller (the operator window runs this in a worker process): one JSON object per line on
stdout, ``{"progress": 0..1, "message": "..."}``, and last ``{"figures": {...}}``. Errors are one line
``povlab: error: ...`` on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from app.core.errors import PovLabError
from app.inference.metrics import classification_report
from app.inference.text_encoder import EmbeddingCache
from models.cross_validation import run_cv
from models.data import encode_examples, participant_table, stimulus_table
from models.model import ModelConfig
from models.recorded_trials import session_examples
from models.train import TrainConfig, fit, predict_proba, save_checkpoint, set_determinism

BASELINE = "logistic_regression_ids_only_l2_1"  # the participant-and-image prior
MIN_TRIALS_PER_FOLD = 2


def _say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def train_on_study(study: Path, out: Path, folds: int = 5, epochs: int = 10, ensemble: int = 3,
                   seed: int = 0) -> dict:
    """Cross-validate on the study's trials, train on all of them, export; returns the figures."""
    t0 = time.perf_counter()
    set_determinism(seed)
    examples = session_examples(study)
    n = len(examples)
    if n < folds * MIN_TRIALS_PER_FOLD:
        raise PovLabError(f"{study}: {n} answered trials; {folds}-fold cross-validation needs at least "
                          f"{folds * MIN_TRIALS_PER_FOLD} (record more sessions first)")
    tcfg = replace(TrainConfig(), epochs=epochs, ensemble=ensemble, seed=seed)
    steps = (folds + 1) * tcfg.epochs * tcfg.ensemble
    done = [0]

    def step(_epoch: int, _rec: dict) -> None:
        done[0] += 1
        stage = "cross-validation" if done[0] <= folds * tcfg.epochs * tcfg.ensemble else "final model"
        _say(progress=round(0.95 * done[0] / steps, 4), message=f"{stage}: epoch {done[0]} of {steps}")

    _say(progress=0.0, message=f"{n} answered trials of {len({e.participant for e in examples})} participants")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    cache = EmbeddingCache(path=partial / "embeddings.npz")
    try:
        cv = run_cv(examples, {"model": ({}, tcfg)}, folds, seed, baselines=True, cache=cache, progress=step)
        participants, stimuli = participant_table(examples), stimulus_table(examples)
        inputs = encode_examples(examples, participants, cache, stimuli)
        mcfg = ModelConfig(n_participants=len(participants) + 1, n_stimuli=len(stimuli) + 1)
        model, history = fit(inputs, np.arange(n), mcfg, tcfg, step)
        meta = {"data_sha256": "", "train_config": asdict(tcfg), "encoder": cache.encoder.model_id,
                "uses_regions": False, "image_encoder": "", "n_examples_with_regions": 0, "stimulus_labels": {},
                "n_examples": n, "world_size": 1}
        save_checkpoint(partial / "checkpoint.pt", model, participants, stimuli, meta)
        _say(progress=0.97, message="exporting to ONNX")
        from models.export import export_onnx

        export_onnx(partial / "checkpoint.pt", partial / "model.onnx")
        fit_report = classification_report(inputs["label"], predict_proba(model, inputs, np.arange(n)).argmax(1))
        figures = {
            "study": str(study), "folder": str(out), "trials": n, "participants": sorted({e.participant for e in examples}),
            "images": len({e.image_id for e in examples}), "folds": folds, "seed": seed,
            "model": cv["model"], "participant_image_prior": cv[BASELINE], "always_yes": cv["always_yes"],
            "gain_over_prior": round(cv["model"]["accuracy_mean"] - cv[BASELINE]["accuracy_mean"], 4),
            "train_fit": fit_report, "seconds": round(time.perf_counter() - t0, 1),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (partial / "figures.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
        (partial / "report.json").write_text(json.dumps({**meta, "history": history}, indent=1), encoding="utf-8")
        (partial / "embeddings.npz").unlink(missing_ok=True)
        if out.exists():
            raise PovLabError(f"{out}: already exists; a trained model is never overwritten")
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _say(progress=1.0, message=f"model in {out}")
    _say(figures=figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.study_training", description=__doc__.splitlines()[0])
    ap.add_argument("--study", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--ensemble", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        if not 2 <= args.folds <= 20 or not 1 <= args.epochs <= 200 or not 1 <= args.ensemble <= 10:
            raise PovLabError("study training: --folds 2-20, --epochs 1-200 and --ensemble 1-10")
        train_on_study(args.study, args.out, args.folds, args.epochs, args.ensemble, args.seed)
    except PovLabError as exc:
        print(f"povlab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
