"""``povlab bench inference``: one live prediction (feature function + fusion model) on this machine.

A live update is timed as the session calls it: ``LivePredictor.update`` on the demo protocol's trials, each
trial's fixation list growing one fixation at a time up to 40 (as each fixation ends), trial after trial. Reported
per update: wall time (``update``) and the CPU time of the calling thread (``update_cpu``, ``time.thread_time``;
ONNX Runtime runs on that thread with one intra-op thread), for the fast path the session uses
(``app/inference/live_feed.py``) and, interleaved in blocks on the same sequences, the plain path
(``update_plain_path``: the whole list's features, padded inputs, ``session.run``), with the load average and the
model's node count, since figures on a shared machine are only comparable side by side. The same padded inputs
are then run through the same model in eager PyTorch (``models/bench_eager.py``, a child process: the app never
imports torch) and through ONNX Runtime alone, and the ratio eager / ONNX of the model-only p50 is reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.core.paths import BUNDLED_MODEL, DEMO_PROTOCOL, ROOT

BUNDLED_CHECKPOINT = BUNDLED_MODEL.with_suffix(".pt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="ONNX model (default: the bundled one)")
    parser.add_argument("--checkpoint", help="its torch checkpoint, for the eager comparison (default: bundled)")
    parser.add_argument("--protocol", default=str(DEMO_PROTOCOL))
    parser.add_argument("--n", type=int, default=2000, help="timed updates")
    parser.add_argument("--cpu", action="store_true", help="do not try CUDA")


def percentiles(times_s: list[float]) -> dict[str, float]:
    a = np.array(times_s) * 1000.0
    return {"p50_ms": round(float(np.percentile(a, 50)), 4), "p99_ms": round(float(np.percentile(a, 99)), 4),
            "mean_ms": round(float(a.mean()), 4)}


def run(args: argparse.Namespace) -> dict:
    from app.core.layout import layout_trial
    from app.core.protocol import load_protocol
    from app.inference.onnx_model import softmax
    from app.inference.predictor import LivePredictor

    protocol = load_protocol(args.protocol)
    with tempfile.TemporaryDirectory() as tmp:
        predictor = LivePredictor.load(args.model, protocol, cache_dir=Path(tmp), prefer_cuda=not args.cpu)
    rng = np.random.default_rng(0)
    trials = [(t.trial_id, len(layout_trial(protocol, t).aois)) for t in protocol.all_trials]
    sequences = []
    while len(sequences) < args.n:
        for tid, n_aoi in trials:  # one trial after the other, its list growing by one fixation per update
            fx = [(int(a), float(d)) for a, d in zip(rng.integers(-1, n_aoi, 40), rng.uniform(0.08, 0.5, 40),
                                                     strict=True)]
            sequences.extend((tid, fx[:k]) for k in range(1, 41))
    sequences = sequences[:args.n]

    def fast(tid: str, fx: list) -> None:
        predictor.update(tid, "P01", fx)

    def plain(tid: str, fx: list) -> None:
        softmax(predictor.logits_reference(tid, "P01", fx))

    for tid, fx in sequences[:50]:  # warm-up
        fast(tid, fx)
        plain(tid, fx)
    times: dict[str, tuple[list[float], list[float]]] = {"fast": ([], []), "plain": ([], [])}
    block = 200
    for b0 in range(0, len(sequences), block):  # interleaved blocks: both paths see the same load
        for name, fn in (("fast", fast), ("plain", plain)):
            wall, cpu = times[name]
            for tid, fx in sequences[b0:b0 + block]:
                c0, t0 = time.thread_time(), time.perf_counter()
                fn(tid, fx)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
    batches = [predictor._inputs(tid, "P01", fx) for tid, fx in sequences[:500]]
    model_s = []
    for b in batches:
        t0 = time.perf_counter()
        predictor.model.logits(b)
        model_s.append(time.perf_counter() - t0)
    result: dict = {"provider": predictor.provider, "provider_note": predictor.model.provider_note,
                    "update": percentiles(times["fast"][0]), "update_cpu": percentiles(times["fast"][1]),
                    "update_plain_path": percentiles(times["plain"][0]),
                    "update_plain_path_cpu": percentiles(times["plain"][1]),
                    "onnx_model_only": percentiles(model_s), "n": len(sequences),
                    "model_nodes": _nodes(predictor.model.path),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                    "ort_threads": int(os.environ.get("POVLAB_ORT_THREADS", "1"))}
    result["eager_torch_model_only"] = _eager(batches, args.checkpoint or BUNDLED_CHECKPOINT)
    eager = result["eager_torch_model_only"]
    if isinstance(eager, dict) and "p50_ms" in eager:
        result["eager_over_onnx_p50"] = round(eager["p50_ms"] / result["onnx_model_only"]["p50_ms"], 2)
    return result


def _nodes(path: Path) -> int | None:
    """Nodes of the model's ONNX graph (None without the ``onnx`` package, a training extra)."""
    try:
        import onnx
    except ImportError:
        return None
    return len(onnx.load(str(path), load_external_data=False).graph.node)


def _eager(batches: list[dict], checkpoint: str | Path) -> dict | str:
    """Model-only timings of the same inputs in eager PyTorch, from ``models/bench_eager.py`` in a child process."""
    if importlib.util.find_spec("torch") is None or not (ROOT / "models" / "bench_eager.py").is_file():
        return "skipped: torch or the models/ folder is not available"
    if not Path(checkpoint).is_file():
        return f"skipped: no checkpoint at {checkpoint}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inputs.npz"
        np.savez(path, **{f"{i}:{k}": v for i, b in enumerate(batches) for k, v in b.items()})
        proc = subprocess.run([sys.executable, "-m", "models.bench_eager", str(checkpoint), str(path)], cwd=ROOT,
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
