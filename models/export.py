"""Export a checkpoint to ONNX: ``python -m models.export CHECKPOINT --out MODEL.onnx``.

Dynamic batch and sequence (token) axes. The graph is the ensemble with its members stacked
(:class:`models.stacked.StackedEnsemble`: the same logits, about a fifth of the nodes of exporting ``PovEnsemble``
as written; the bundled model went from 359 to 74 nodes); ``--unstacked`` exports the members one after the other
as before (for comparison). The exporter's own graph optimiser (onnxscript, ``optimize=True``) folds the constants
and shape arithmetic it can. The file's metadata carries everything the runtime needs without the
training data: ``povlab.config`` (the ModelConfig JSON), ``povlab.labels``, ``povlab.feature_version``,
``povlab.data_sha256``, ``povlab.participants`` (id -> embedding row JSON), ``povlab.encoder`` and
``povlab.inputs``, ``povlab.uses_regions`` ("1" when training saw image-region features; the predictor then needs
the image encoder) and ``povlab.image_encoder``. The predictor (``app/inference``) checks them when it loads the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from app.core.errors import PovLabError
from app.core.features import INPUT_NAMES
from app.inference.model_integrity import DIGEST_KEY, model_digest, record_model_digest
from models.model import PovEnsemble
from models.stacked import StackedEnsemble
from models.train import load_checkpoint

OPSET = 18


def example_inputs(model: PovEnsemble, batch: int = 2, tokens: int = 7, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random inputs of the model's shapes (used for tracing and the parity tests)."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, tokens)
    mask[0, tokens - 2:] = 0  # one padded row, so the padding path is traced and checked
    return {
        "embedding": torch.randn(batch, tokens, cfg.emb_dim, generator=g),
        "kind": torch.randint(0, 2, (batch, tokens), generator=g),
        "position": torch.randint(0, 20, (batch, tokens), generator=g),
        "dwell": torch.rand(batch, tokens, cfg.dwell_dim, generator=g),
        "order": torch.randint(0, 10, (batch, tokens), generator=g),
        "transitions": torch.log1p(torch.randint(0, 3, (batch, tokens, tokens), generator=g).float()),
        "mask": mask,
        "glob": torch.rand(batch, cfg.glob_dim, generator=g),
        "participant": torch.randint(0, cfg.n_participants, (batch,), generator=g),
        "stimulus": torch.randint(0, cfg.n_stimuli, (batch,), generator=g),
        "region": torch.nn.functional.normalize(torch.rand(batch, tokens, cfg.region_dim, generator=g), dim=-1),
    }


def export_onnx(checkpoint: str | Path, out: str | Path, stacked: bool = True) -> Path:
    model, ck = load_checkpoint(checkpoint)
    graph: torch.nn.Module = StackedEnsemble(model) if stacked else model
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs = example_inputs(model)
    b, t = torch.export.Dim("batch", min=1), torch.export.Dim("tokens", min=1)
    shapes = {"embedding": {0: b, 1: t}, "kind": {0: b, 1: t}, "position": {0: b, 1: t}, "dwell": {0: b, 1: t},
              "order": {0: b, 1: t}, "transitions": {0: b, 1: t, 2: t}, "mask": {0: b, 1: t}, "glob": {0: b},
              "participant": {0: b}, "stimulus": {0: b}, "region": {0: b, 1: t}}
    tmp = out.with_name(out.name + ".tmp")
    with torch.no_grad():
        torch.onnx.export(graph, (), str(tmp), kwargs=inputs, input_names=list(INPUT_NAMES),
                          output_names=["logits"], dynamic_shapes=shapes, opset_version=OPSET, dynamo=True,
                          external_data=False, verbose=False, optimize=True)
    meta = {"povlab.config": ck["config"], "povlab.labels": json.dumps(ck["labels"]),
            "povlab.feature_version": str(ck["feature_version"]), "povlab.data_sha256": ck.get("data_sha256", ""),
            "povlab.participants": json.dumps(ck["participants"], sort_keys=True),
            "povlab.stimuli": json.dumps(ck.get("stimuli", {}), sort_keys=True),
            "povlab.stimulus_labels": json.dumps(ck.get("stimulus_labels", {}), sort_keys=True),
            "povlab.encoder": ck.get("encoder", ""), "povlab.inputs": json.dumps(list(INPUT_NAMES)),
            "povlab.uses_regions": "1" if ck.get("uses_regions") else "0",
            "povlab.image_encoder": ck.get("image_encoder", "")}
    return save_with_metadata(tmp, out, meta)


def save_with_metadata(tmp: Path, out: Path, meta: dict[str, str]) -> Path:
    """Replace the metadata of the freshly exported ONNX file ``tmp`` with ``meta``, check the graph, and move it
    to ``out`` in one step (a crash leaves the old ``out`` or nothing, never half a file)."""
    import onnx

    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = "povlab"
    onnx.checker.check_model(proto)
    record_model_digest(proto)
    onnx.save(proto, str(tmp))
    if model_digest(tmp.read_bytes()) != {m.key: m.value for m in proto.metadata_props}[DIGEST_KEY]:
        raise RuntimeError(f"{tmp}: the recorded model sha256 does not match the file written")
    tmp.replace(out)
    return out



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.export")
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--unstacked", action="store_true", help="export the ensemble's members one after the other")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    np.random.seed(0)
    try:
        path = export_onnx(args.checkpoint, args.out, stacked=not args.unstacked)
    except PovLabError as exc:
        print(f"povlab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
