"""Eager PyTorch timings for ``povlab bench inference``: ``python -m models.bench_eager CHECKPOINT INPUTS.npz``.

INPUTS.npz holds batches as ``"<i>:<input name>"`` arrays; prints one JSON object (p50/p99/mean ms) on its last line.
One thread, as the ONNX Runtime session uses by default.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict

import numpy as np
import torch

from models.train import load_checkpoint


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    model, _ = load_checkpoint(argv[0])
    batches: dict[int, dict[str, torch.Tensor]] = defaultdict(dict)
    with np.load(argv[1]) as data:
        for key in data.files:
            i, name = key.split(":", 1)
            batches[int(i)][name] = torch.from_numpy(data[key])
    ordered = [batches[i] for i in sorted(batches)]
    times = []
    with torch.inference_mode():
        for b in ordered[:20]:
            model(**b)
        for b in ordered:
            t0 = time.perf_counter()
            model(**b)
            times.append(time.perf_counter() - t0)
    a = np.array(times) * 1000.0
    print(json.dumps({"p50_ms": round(float(np.percentile(a, 50)), 4), "p99_ms": round(float(np.percentile(a, 99)), 4),
                      "mean_ms": round(float(a.mean()), 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
