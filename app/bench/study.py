"""``povlab bench study``: does retraining on a study learn what an id-only prior cannot? (a pipeline check)

A simulated study (:mod:`app.study.simulated_study`): ``--participants`` attentive simulated participants
(:mod:`app.core.attentive_participant`: each answers yes only when it looked long enough at every object the
caption names; own thoroughness, threshold and lapse rate) on one protocol of 36 trials (default 72
participants, 2592 trials). The last ``--held-out`` participants are never trained on. For each number of training participants in ``--steps``
(sessions accumulating), the real commands run: ``povlab model train --sessions <their folders>`` (one member,
no image regions) and ``povlab model export-onnx``; the ONNX model then predicts the held-out participants'
answers from their recorded gaze (ONNX Runtime, as live). Reported beside it:

- **id-only prior**: per trial, the majority answer of the training participants (what participant and
  stimulus identities can give for a participant not seen in training: the stimulus's base rate), and the
  overall most frequent answer (``majority_accuracy``);
- **rule ceiling**: each held-out participant's own rule applied to its recorded fixations without lapses
  (how much of the answers the gaze determines).

This checks the pipeline, not human behaviour: the signal was put into the gaze by the simulation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=72, help="simulated participants in all (default 72)")
    parser.add_argument("--held-out", type=int, default=8, help="of them, never trained on (default 8)")
    parser.add_argument("--steps", default="4,16,32,64", help="training participants per point (default 4,16,32,64)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10, as model train)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, metavar="PNG", help="write the learning curve here")
    parser.add_argument("--workdir", type=Path, help="keep the study and the models in this new folder")


def _povlab(*argv: str) -> None:
    from app.core.errors import ModelError
    from app.core.paths import SOURCE_ROOT

    if SOURCE_ROOT is None:
        raise ModelError("bench study trains models: it needs a POV Lab checkout with the 'train' extra")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCE_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-m", "app.cli", *argv], env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ModelError(f"bench study: povlab {argv[0]} {argv[1]} failed: {tail}")


def _ceiling(trials: list[Any], protocol: Any, traits: dict[str, Any]) -> float:
    from app.core.answers import ANSWER_INDEX
    from app.core.attentive_participant import answer_from_viewing
    from app.core.layout import layout_trial

    by_id = {t.trial_id: t for t in protocol.all_trials}
    layouts = {k: layout_trial(protocol, t) for k, t in by_id.items()}
    rng = np.random.default_rng(0)
    hits = []
    for t in trials:
        tr = replace(traits[t.participant], lapse=0.0)
        ans = answer_from_viewing(layouts[t.trial_id], by_id[t.trial_id].caption,
                                  [(f.token, f.duration_s) for f in t.fixations], tr, rng)
        hits.append(ANSWER_INDEX[ans] == t.answer)
    return float(np.mean(hits))


def _figure(path: Path, curve: list[dict[str, Any]], ceiling: float, held_out: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [c["train_participants"] for c in curve]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    ax.plot(ks, [c["model_accuracy"] for c in curve], "o-", label="retrained model (gaze, ONNX)")
    ax.plot(ks, [c["prior_accuracy"] for c in curve], "s--", label="id-only prior (per-trial majority)")
    ax.plot(ks, [c["majority_accuracy"] for c in curve], "^:", label="always the most frequent answer")
    ax.axhline(ceiling, color="grey", lw=1, ls=":", label="rule ceiling (no lapses)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("training participants (sessions)")
    ax.set_ylabel(f"accuracy on {held_out} held-out participants")
    ax.set_ylim(0.4, 1.0)
    ax.set_title("Simulated study: a pipeline check, not human behaviour", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.attentive_participant import draw_traits
    from app.core.errors import PovLabError
    from app.core.protocol import load_protocol
    from app.inference.onnx_model import load_fusion_model
    from app.inference.session_evaluation import predict_trials, session_trials
    from app.study.simulated_study import simulate_session, study_protocol

    try:
        steps = sorted({int(s) for s in str(args.steps).split(",") if s.strip()})
    except ValueError as exc:
        raise PovLabError(f"bench study: --steps must be numbers like 2,4,8, got {args.steps!r}") from exc
    train_pool = args.participants - args.held_out
    if args.held_out < 1 or not steps or steps[0] < 1 or steps[-1] > train_pool or args.epochs < 1:
        raise PovLabError(f"bench study: need --held-out >= 1, --epochs >= 1 and steps between 1 and "
                          f"--participants - --held-out = {train_pool}")
    if args.workdir is not None and args.workdir.exists():
        raise PovLabError(f"bench study: --workdir {args.workdir} exists; give a new folder")
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="povlab-bench-study-"))
    try:
        t = time.perf_counter()
        work.mkdir(parents=True, exist_ok=True)
        protocol = load_protocol(study_protocol(work / "design"))
        rng = np.random.default_rng(args.seed)
        traits, folders = {}, []
        for i in range(args.participants):
            pid = f"{i + 1:02d}"
            traits[pid] = draw_traits(rng)
            folders.append(simulate_session(work / "sessions", protocol, pid, traits[pid], rng))
        simulate_s = time.perf_counter() - t
        test = session_trials(folders[train_pool:])
        y = np.array([tr.answer for tr in test])
        curve = []
        for k in steps:
            out = work / f"model-{k:02d}"
            t = time.perf_counter()
            _povlab("model", "train", "--sessions", *map(str, folders[:k]), "--out", str(out), "--ensemble", "1",
                    "--epochs", str(args.epochs), "--seed", str(args.seed), "--no-image-regions")
            _povlab("model", "export-onnx", str(out / "checkpoint.pt"), "--out", str(out / "model.onnx"))
            train_s = time.perf_counter() - t
            model = load_fusion_model(out / "model.onnx", prefer_cuda=False)
            pred = predict_trials(test, model)
            counts: dict[str, Counter[int]] = {}
            train = session_trials(folders[:k])
            for tr in train:
                counts.setdefault(tr.trial_id, Counter())[tr.answer] += 1
            overall = Counter(tr.answer for tr in train).most_common(1)[0][0]
            majority = np.full(len(test), overall)
            prior = np.array([counts[tr.trial_id].most_common(1)[0][0] if tr.trial_id in counts else overall
                              for tr in test])
            curve.append({"train_participants": k, "train_trials": len(train),
                          "model_accuracy": round(float((pred == y).mean()), 4),
                          "prior_accuracy": round(float((prior == y).mean()), 4),
                          "majority_accuracy": round(float((majority == y).mean()), 4),
                          "train_and_export_s": round(train_s, 1)})
        ceiling = _ceiling(test, protocol, traits)
        if args.figure is not None:
            _figure(args.figure, curve, ceiling, args.held_out)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return {"benchmark": "study", "participants": args.participants, "held_out": args.held_out,
            "held_out_trials": len(test), "trials_per_participant": len(protocol.all_trials),
            "epochs": args.epochs, "seed": args.seed, "simulate_s": round(simulate_s, 1),
            "yes_rate": round(float((y == 0).mean()), 4), "rule_ceiling_accuracy": round(ceiling, 4),
            "curve": curve, "figure": str(args.figure) if args.figure else None,
            "note": "a check of the pipeline (simulated participants whose answers depend on their gaze by "
                    "construction), not of human behaviour"}
