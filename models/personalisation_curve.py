"""How few-shot personalisation helps a participant not seen in training:
``python -m models.personalisation_curve --pov-csv FILE [--shots 0 2 4 8] [--out FILE.json]``.

Participants are split into k groups (group k-fold): the model is trained on the others' trials, so each held-out
participant runs through the shared unknown-participant embedding. For every trial of a held-out participant,
n of their *other* trials (seeded random choice, fewer when they have fewer) are the answered practice trials;
their logits feed :func:`app.inference.personalise.fit_logit_bias` (numpy, the same code the live predictor
runs) and the target trial is predicted with the fitted bias. Accuracy is reported for every n on all held-out
trials, and on the participants with at least max(n)+1 trials (so every n is really available there).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

from app.inference.metrics import classification_report
from app.inference.personalise import PRIOR_SIGMA, fit_logit_bias
from app.inference.text_encoder import EmbeddingCache
from models.data import Example, encode_examples, participant_table, pov_examples, stimulus_table
from models.model import ModelConfig
from models.train import TrainConfig, fit, set_determinism, to_tensors


def participant_folds(examples: list[Example], k: int, seed: int) -> list[set[str]]:
    parts = sorted({e.participant for e in examples})
    order = np.random.default_rng(seed).permutation(len(parts))
    return [{parts[i] for i in order[j::k]} for j in range(k)]


def held_out_logits(examples: list[Example], k: int, seed: int, tcfg: TrainConfig) -> dict[int, np.ndarray]:
    """Logits of every trial from a model trained without its participant (group k-fold)."""
    import torch

    cache = EmbeddingCache()
    z: dict[int, np.ndarray] = {}
    for held in participant_folds(examples, k, seed):
        train = np.array([i for i, e in enumerate(examples) if e.participant not in held])
        parts = participant_table([examples[i] for i in train])
        stims = stimulus_table([examples[i] for i in train])
        inputs = encode_examples(examples, parts, cache, stims)
        model, _ = fit(inputs, train, ModelConfig(n_participants=len(parts) + 1, n_stimuli=len(stims) + 1), tcfg)
        test = np.array([i for i, e in enumerate(examples) if e.participant in held])
        with torch.no_grad():
            logits = model(**to_tensors(inputs, test)).numpy().astype(np.float64)
        z.update(zip(test.tolist(), logits, strict=True))
    return z


def curve(examples: list[Example], z: dict[int, np.ndarray], shots: list[int], sigma: float, seed: int = 0) -> dict:
    labels = np.array([e.label for e in examples])
    rng = np.random.default_rng(seed)
    by_part: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        by_part[e.participant].append(i)
    preds: dict[int, dict[int, int]] = {n: {} for n in shots}
    for trials in by_part.values():
        for target in trials:
            perm = rng.permutation([i for i in trials if i != target]).tolist()
            for n in shots:
                practice = perm[:n]
                bias = fit_logit_bias(np.array([z[i] for i in practice]).reshape(len(practice), 3),
                                      labels[practice], sigma)
                preds[n][target] = int(np.argmax(z[target] + bias))
    rich = [i for i, e in enumerate(examples) if len(by_part[e.participant]) >= max(shots) + 1]
    out: dict = {"sigma": sigma, "n_trials": len(examples), "n_trials_rich": len(rich),
                 "rich_participants": len({examples[i].participant for i in rich}), "shots": {}}
    for n in shots:
        idx = sorted(preds[n])
        rep = classification_report(labels[idx], [preds[n][i] for i in idx])
        rep_rich = classification_report(labels[rich], [preds[n][i] for i in rich])
        out["shots"][str(n)] = {"accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
                                "accuracy_rich": rep_rich["accuracy"], "macro_f1_rich": rep_rich["macro_f1"]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.personalisation_curve")
    ap.add_argument("--pov-csv", required=True)
    ap.add_argument("--shots", type=int, nargs="+", default=[0, 2, 4, 8])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--sigma", type=float, nargs="+", default=[PRIOR_SIGMA])
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    set_determinism(0)
    examples = pov_examples(args.pov_csv)
    z = held_out_logits(examples, args.folds, 0, TrainConfig())
    if args.out:  # the held-out logits, to try other priors without retraining
        np.savez(args.out + ".logits.npz", idx=np.array(sorted(z)), logits=np.array([z[i] for i in sorted(z)]))
    results = [curve(examples, z, args.shots, s) for s in args.sigma]
    text = json.dumps(results if len(results) > 1 else results[0])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
