"""Cross-validation on the dev split: ``python -m models.cross_validation --pov-csv FILE [--folds 5] [--out cv.json]``.

Stratified k-fold by trial (the authors split by trial, so participants and images recur, as in their test split).
On the same folds: the model, its ablations (no gaze, no participant), always-YES and a multinomial logistic
regression over participant, image and AOI-label counts (the issue's reference baseline). Prints mean and std.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from app.inference.metrics import classification_report
from app.inference.text_encoder import EmbeddingCache
from models.data import Example, encode_examples, participant_table, pov_examples, prefix_copies, stimulus_table
from models.model import ModelConfig
from models.train import TrainConfig, fit, predict_proba, set_determinism

LR_PENALTIES = (1.0, 10.0)


def stratified_folds(labels: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """Test indices of k folds, each class dealt round-robin after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        for i, j in enumerate(idx):
            folds[(i + offset) % k].append(int(j))
        offset += len(idx)
    return [np.sort(np.array(f)) for f in folds]


def logistic_regression(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Multinomial logistic regression with an L2 penalty, fitted with L-BFGS (scipy); returns test classes."""
    from scipy.optimize import minimize

    n, d = x_train.shape
    k = 3
    y1 = np.eye(k)[y_train]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        wm = w.reshape(d + 1, k)
        z = x_train @ wm[:-1] + wm[-1]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        val = -np.sum(y1 * np.log(p + 1e-12)) / n + 0.5 * l2 * np.sum(wm[:-1] ** 2) / n
        g = np.vstack([x_train.T @ (p - y1) / n + l2 * wm[:-1] / n, (p - y1).mean(axis=0)])
        return val, g.ravel()

    res = minimize(loss, np.zeros((d + 1) * k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    wm = res.x.reshape(d + 1, k)
    return np.argmax(x_test @ wm[:-1] + wm[-1], axis=1)


def count_features(examples: Sequence[Example]) -> np.ndarray:
    """One-hot participant, one-hot image and per-label fixation counts (log1p)."""
    parts = sorted({e.participant for e in examples})
    images = sorted({e.image_id for e in examples})
    labels = sorted({f"{t.kind}:{t.text}" for e in examples for t in e.tokens})
    pi, ii, li = ({v: i for i, v in enumerate(s)} for s in (parts, images, labels))
    x = np.zeros((len(examples), len(parts) + len(images) + len(labels)))
    for r, e in enumerate(examples):
        x[r, pi[e.participant]] = 1
        x[r, len(parts) + ii[e.image_id]] = 1
        for f in e.fixations:
            if f.token >= 0:
                t = e.tokens[f.token]
                x[r, len(parts) + len(images) + li[f"{t.kind}:{t.text}"]] += 1
    x[:, len(parts) + len(images):] = np.log1p(x[:, len(parts) + len(images):])
    return x


def summarise(reports: list[dict]) -> dict:
    acc = np.array([r["accuracy"] for r in reports])
    f1 = np.array([r["macro_f1"] for r in reports])
    return {"accuracy_mean": round(float(acc.mean()), 4), "accuracy_std": round(float(acc.std(ddof=1)), 4),
            "macro_f1_mean": round(float(f1.mean()), 4), "macro_f1_std": round(float(f1.std(ddof=1)), 4),
            "folds": [r["accuracy"] for r in reports]}


def run_cv(examples: list[Example], variants: dict[str, tuple[dict, TrainConfig]], k: int = 5, seed: int = 0,
           baselines: bool = True, cache: EmbeddingCache | None = None,
           prefix_shares: Sequence[float] = (), progress: Callable[[int, dict], None] | None = None) -> dict:
    """Figures per variant; with ``prefix_shares`` also the accuracy on test trials cut to that share of their
    fixations (what the live predictor sees part-way through a trial). ``progress`` is called after every
    training epoch of every fold (as :func:`models.train.fit` calls it)."""
    labels = np.array([e.label for e in examples])
    folds = stratified_folds(labels, k, seed)
    cache = cache or EmbeddingCache()
    out: dict[str, dict] = {}
    if baselines:
        x = count_features(examples)
        n_ids = len({e.participant for e in examples}) + len({e.image_id for e in examples})
        yes: list[dict] = []
        lr: dict[str, list[dict]] = {}
        for test in folds:
            train = np.setdiff1d(np.arange(len(examples)), test)
            yes.append(classification_report(labels[test], np.zeros(len(test), np.int64)))
            for l2 in LR_PENALTIES:  # all features, and participant + image only; each penalty reported
                for name, cols in ((f"logistic_regression_l2_{l2:g}", slice(None)),
                                   (f"logistic_regression_ids_only_l2_{l2:g}", slice(0, n_ids))):
                    pred = logistic_regression(x[train][:, cols], labels[train], x[test][:, cols], l2)
                    lr.setdefault(name, []).append(classification_report(labels[test], pred))
        out["always_yes"] = summarise(yes)
        out.update({name: summarise(reps) for name, reps in lr.items()})
    for name, (overrides, tcfg) in variants.items():
        reports = []
        by_share: dict[float, list[dict]] = {}
        for test in folds:
            train = np.setdiff1d(np.arange(len(examples)), test)
            parts = participant_table([examples[i] for i in train])  # unseen test participants -> unknown row
            stims = stimulus_table([examples[i] for i in train])
            aug = prefix_copies([examples[i] for i in train], tcfg.prefix_copies, seed)
            inputs = encode_examples(examples + aug, parts, cache, stims)
            fit_idx = np.concatenate([train, len(examples) + np.arange(len(aug))]).astype(np.int64)
            mcfg = ModelConfig(n_participants=len(parts) + 1, n_stimuli=len(stims) + 1, **overrides)
            model, _ = fit(inputs, fit_idx, mcfg, tcfg, progress)
            pred = predict_proba(model, inputs, test).argmax(1)
            reports.append(classification_report(labels[test], pred))
            for share in prefix_shares:
                cut = [replace(examples[i], fixations=examples[i].fixations[:max(1, round(share * len(
                    examples[i].fixations)))]) for i in test]
                part_inputs = encode_examples(cut, parts, cache, stims)
                part_pred = predict_proba(model, part_inputs, np.arange(len(cut))).argmax(1)
                by_share.setdefault(share, []).append(classification_report(labels[test], part_pred))
        out[name] = summarise(reports)
        for share, reps in by_share.items():
            out[f"{name}_first_{share:.0%}_of_fixations"] = summarise(reps)
        print(name, json.dumps(out[name]), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.cross_validation")
    ap.add_argument("--pov-csv", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", default="main", help="main (model + ablations) or a JSON {name: [model, train]}")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--prefix-shares", type=float, nargs="*", default=[],
                    help="also score test trials cut to these shares of their fixations (live use)")
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    set_determinism(args.seed)
    examples = pov_examples(args.pov_csv)
    base = TrainConfig()
    if args.grid == "main":
        variants = {"model": ({}, base), "no_gaze": ({"use_gaze": False}, base),
                    "no_participant": ({"use_participant": False}, base),
                    "no_stimulus": ({"use_stimulus": False}, base)}
    else:
        variants = {n: (m, replace(base, **t)) for n, (m, t) in json.loads(args.grid).items()}
    result = run_cv(examples, variants, args.folds, args.seed, baselines=not args.no_baselines,
                    prefix_shares=args.prefix_shares)
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
