"""Train the perception-guided transformer: ``python -m models.train --pov-csv FILE [--sessions DIR ...] --out DIR``.

Seeded and deterministic (torch deterministic algorithms, fixed thread count, seeded shuffles). Writes
``DIR/checkpoint.pt`` (weights + config + participant table + label order + feature version + training-data hash),
``DIR/report.json`` and ``DIR/curves.png``. Under ``torchrun --nproc-per-node N`` it trains with
DistributedDataParallel (gloo on CPU, NCCL on GPUs): each rank sees its shard of every epoch, rank 0 writes.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from app.core.errors import PovLabError
from app.core.features import FEATURE_VERSION, INPUT_NAMES
from app.inference.metrics import classification_report
from app.inference.region_encoder import RegionEncoder
from app.inference.text_encoder import EmbeddingCache
from models.data import (
    Example,
    data_hash,
    encode_examples,
    participant_table,
    pov_examples,
    pov_stimulus_labels,
    prefix_copies,
    stimulus_table,
)
from models.model import LABELS, ModelConfig, PovEnsemble, PovTransformer
from models.recorded_trials import session_examples


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.1
    class_weight_power: float = 0.0  # 0: plain CE; 1: inverse-frequency class weights
    label_smoothing: float = 0.0
    ensemble: int = 5  # members trained from seeds seed, seed + 1, ...; logits averaged
    prefix_copies: int = 0  # extra copies of each training trial cut to a random prefix of its fixations
    seed: int = 0


def set_determinism(seed: int, threads: int = 1) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def to_tensors(inputs: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(inputs[k][idx])) for k in INPUT_NAMES}


def fit(inputs: dict[str, np.ndarray], train_idx: np.ndarray, mcfg: ModelConfig, tcfg: TrainConfig,
        progress: Callable[[int, dict], None] | None = None, distributed: bool = False) -> tuple[PovEnsemble, list]:
    """Train ``tcfg.ensemble`` fresh members on ``inputs[train_idx]``; returns the ensemble and per-epoch history."""
    ensemble = PovEnsemble(mcfg, tcfg.ensemble)
    history: list[dict] = []
    for k in range(tcfg.ensemble):
        member, hist = fit_member(inputs, train_idx, mcfg, replace(tcfg, seed=tcfg.seed + k), progress, distributed)
        ensemble.members[k].load_state_dict(member.state_dict())
        history += [{"member": k, **h} for h in hist]
    ensemble.eval()
    return ensemble, history


def fit_member(inputs: dict[str, np.ndarray], train_idx: np.ndarray, mcfg: ModelConfig, tcfg: TrainConfig,
               progress: Callable[[int, dict], None] | None = None,
               distributed: bool = False) -> tuple[PovTransformer, list]:
    """Train one fresh model on ``inputs[train_idx]``; returns the model and per-epoch history."""
    torch.manual_seed(tcfg.seed)
    model = PovTransformer(mcfg)
    net: torch.nn.Module = model
    rank, world = 0, 1
    if distributed:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        rank, world = dist.get_rank(), dist.get_world_size()
        net = DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    steps_per_epoch = max(1, int(np.ceil(len(train_idx) / (tcfg.batch_size * world))))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tcfg.lr, total_steps=tcfg.epochs * steps_per_epoch,
                                                pct_start=0.1)
    labels = inputs["label"]
    counts = np.bincount(labels[train_idx], minlength=len(LABELS)).astype(np.float64)
    w = (counts.sum() / np.maximum(counts, 1) / len(LABELS)) ** tcfg.class_weight_power
    weight = torch.tensor(w / w.mean(), dtype=torch.float32)
    rng = np.random.default_rng(tcfg.seed)
    history = []
    for epoch in range(tcfg.epochs):
        net.train()
        perm = rng.permutation(train_idx)
        shard = perm[rank::world]  # same permutation on every rank (same seed), disjoint shards
        losses, correct = [], 0
        for s in range(steps_per_epoch):
            idx = shard[s * tcfg.batch_size:(s + 1) * tcfg.batch_size]
            if len(idx) == 0:
                idx = shard[:1]
            batch = to_tensors(inputs, idx)
            y = torch.from_numpy(labels[idx])
            logits = net(**batch)
            loss = F.cross_entropy(logits, y, weight=weight, label_smoothing=tcfg.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            correct += int((logits.argmax(-1) == y).sum())
        rec = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "train_accuracy": correct / max(len(shard), 1)}
        history.append(rec)
        if progress is not None:
            progress(epoch, rec)
    model.eval()
    return model, history


@torch.no_grad()
def predict_proba(model: torch.nn.Module, inputs: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    model.eval()
    return torch.softmax(model(**to_tensors(inputs, idx)), dim=-1).numpy()


def load_examples(pov_csv: list[str], sessions: list[str], region_encoder: RegionEncoder | None = None
                  ) -> list[Example]:
    """Examples from POV release CSVs and session folders; session trials get image-region features when
    ``region_encoder`` is given and the session folder holds its protocol and stimuli."""
    examples: list[Example] = []
    for p in pov_csv:
        examples += pov_examples(p)
    for d in sessions:
        examples += session_examples(d, region_encoder)
    if not examples:
        raise PovLabError("no training examples: give --pov-csv FILE and/or --sessions DIR")
    return examples


def save_checkpoint(path: Path, model: PovEnsemble, participants: dict[str, int], stimuli: dict[str, int],
                    meta: dict) -> None:
    torch.save({"config": model.cfg.to_json(), "ensemble": len(model.members), "state_dict": model.state_dict(),
                "participants": participants,
                "stimuli": stimuli,
                "labels": list(LABELS), "feature_version": FEATURE_VERSION, **meta}, path)


def load_checkpoint(path: str | Path) -> tuple[PovEnsemble, dict]:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise PovLabError(f"{path}: not a POV Lab checkpoint ({str(exc).splitlines()[0][:160]})") from exc
    if not isinstance(ck, dict) or "config" not in ck or "state_dict" not in ck:
        raise PovLabError(f"{path}: not a POV Lab checkpoint (no config/state_dict)")
    model = PovEnsemble(ModelConfig.from_json(ck["config"]), int(ck.get("ensemble", 1)))
    state = dict(ck["state_dict"])
    for name, value in model.state_dict().items():  # feature version 1 checkpoints: no region projection (zeros)
        if name.endswith(".region") and name not in state:
            state[name] = torch.zeros_like(value)
    model.load_state_dict(state)
    model.eval()
    return model, ck


def write_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for k in sorted({h.get("member", 0) for h in history}):
        hist = [h for h in history if h.get("member", 0) == k]
        ep = [h["epoch"] for h in hist]
        ax[0].plot(ep, [h["loss"] for h in hist], label=f"member {k}")
        ax[1].plot(ep, [h["train_accuracy"] for h in hist], label=f"member {k}")
    ax[0].set(xlabel="epoch", ylabel="training loss")
    ax[1].set(xlabel="epoch", ylabel="training accuracy")
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.train", description=__doc__)
    ap.add_argument("--pov-csv", action="append", default=[], help="POV release CSV (repeatable)")
    ap.add_argument("--sessions", action="append", default=[], help="folder of POV Lab sessions (repeatable)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ablate", choices=["gaze", "participant", "stimulus"])
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N examples (smoke tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ensemble", type=int, default=TrainConfig.ensemble)
    ap.add_argument("--prefix-copies", type=int, default=TrainConfig.prefix_copies,
                    help="augmentation: copies of each trial cut to a random prefix of its fixations")
    ap.add_argument("--cache", default="", help="embedding cache .npz (default: OUT/embeddings.npz)")
    ap.add_argument("--image-encoder", default="",
                    help="EfficientNet-Lite0 ONNX file for image-region features of session trials "
                         "(default: the one 'povlab model export-image-encoder' writes)")
    ap.add_argument("--no-image-regions", action="store_true", help="train without image-region features")
    args = ap.parse_args(argv)

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = int(os.environ.get("RANK", "0"))
    set_determinism(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        region_encoder = None
        if args.sessions and not args.no_image_regions:
            try:
                region_encoder = RegionEncoder.load(Path(args.image_encoder) if args.image_encoder else None)
            except PovLabError as exc:
                if args.image_encoder:
                    raise
                print(f"povlab: image-region features off: {exc}", file=sys.stderr)
        examples = load_examples(args.pov_csv, args.sessions, region_encoder)
        if args.limit:
            examples = examples[:args.limit]
        participants = participant_table(examples)
        cache = EmbeddingCache(path=Path(args.cache) if args.cache else out / "embeddings.npz")
        stimuli = stimulus_table(examples)
        aug = prefix_copies(examples, args.prefix_copies, args.seed)
        inputs = encode_examples(examples + aug, participants, cache, stimuli)
        mcfg = ModelConfig(n_participants=len(participants) + 1, n_stimuli=len(stimuli) + 1,
                           use_gaze=args.ablate != "gaze", use_participant=args.ablate != "participant",
                           use_stimulus=args.ablate != "stimulus")
        tcfg = replace(TrainConfig(), epochs=args.epochs, seed=args.seed, ensemble=args.ensemble,
                       prefix_copies=args.prefix_copies)
        from tqdm import tqdm

        bar = tqdm(total=tcfg.epochs * tcfg.ensemble, desc="training", unit="epoch", disable=rank != 0, file=sys.stderr)

        def progress(epoch: int, rec: dict) -> None:
            bar.set_postfix(loss=f"{rec['loss']:.3f}", acc=f"{rec['train_accuracy']:.3f}")
            bar.update(1)

        t0 = time.perf_counter()
        model, history = fit(inputs, np.arange(len(examples) + len(aug)), mcfg, tcfg, progress, distributed)
        bar.close()
        if rank == 0:
            files = args.pov_csv + sorted(str(p) for d in args.sessions for p in Path(d).rglob("*") if p.is_file())
            labels: dict[str, list[str]] = {}
            for p in args.pov_csv:
                labels.update(pov_stimulus_labels(p))
            with_regions = [e.source for e in examples if e.regions is not None]
            meta = {"data_sha256": data_hash(files), "train_config": asdict(tcfg), "encoder": cache.encoder.model_id,
                    "uses_regions": bool(with_regions),
                    "image_encoder": region_encoder.name if (with_regions and region_encoder) else "",
                    "n_examples_with_regions": len(with_regions),
                    "stimulus_labels": labels,
                    "n_examples": len(examples), "world_size": int(os.environ.get("WORLD_SIZE", "1"))}
            save_checkpoint(out / "checkpoint.pt", model, participants, stimuli, meta)
            whole = np.arange(len(examples))
            fit_report = classification_report(inputs["label"][whole],
                                                predict_proba(model, inputs, whole).argmax(1))
            report = {**meta, "model_config": json.loads(mcfg.to_json()), "history": history,
                      "train_fit": fit_report, "seconds": round(time.perf_counter() - t0, 1)}
            (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
            write_curves(history, out / "curves.png")
            print(f"wrote {out / 'checkpoint.pt'}, {out / 'report.json'}, {out / 'curves.png'}")
    except PovLabError as exc:
        print(f"povlab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        if distributed:
            import torch.distributed as dist

            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
