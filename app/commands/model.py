"""``povlab model train|export-onnx|export-image-encoder|evaluate``: the perception-guided model's life cycle.

``train``, ``export-onnx`` and ``export-image-encoder`` need torch, which the app never imports: they run
``python -m models.train`` / ``python -m models.export`` / ``python -m models.efficientnet_lite0`` (the training
layer, from a checkout with the ``train`` extra) as a child process and pass its exit code on. ``evaluate`` runs
here with ONNX Runtime alone and prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from app.core.errors import ModelError
from app.core.paths import BUNDLED_MODEL, ROOT
from app.inference.region_encoder import default_image_encoder_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="train, export and evaluate the perception-guided model")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")
    msub.required = True

    t = msub.add_parser("train", help="train on the POV release and/or this app's sessions (needs torch)")
    t.add_argument("--pov-csv", action="append", default=[], metavar="FILE", help="POV release CSV (repeatable)")
    t.add_argument("--sessions", nargs="+", action="extend", default=[], metavar="DIR",
                   help="folders of POV Lab session recordings (.xdf, searched recursively)")
    t.add_argument("--out", required=True, metavar="DIR")
    t.add_argument("--ablate", choices=["gaze", "participant", "stimulus"])
    t.add_argument("--epochs", type=int)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--ensemble", type=int, help="members trained from consecutive seeds (default 5)")
    t.add_argument("--image-encoder", metavar="PATH.onnx",
                   help="image-region features for session trials from this encoder "
                        f"(default: {default_image_encoder_path()} when it exists)")
    t.add_argument("--no-image-regions", action="store_true", help="train without image-region features")
    t.set_defaults(func=run_train)

    e = msub.add_parser("export-onnx", help="export a checkpoint to ONNX with metadata (needs torch)")
    e.add_argument("checkpoint")
    e.add_argument("--out", required=True, metavar="MODEL.onnx")
    e.set_defaults(func=run_export)

    i = msub.add_parser("export-image-encoder",
                        help="write the EfficientNet-Lite0 image-region encoder as ONNX (needs torch, once per machine)")
    i.add_argument("--out", metavar="PATH.onnx", help=f"default: {default_image_encoder_path()}")
    i.add_argument("--if-stale", action="store_true",
                   help="do nothing when the file exists and records the installed weights' sha256")
    i.set_defaults(func=run_export_image_encoder)

    v = msub.add_parser("evaluate", help="accuracy and macro-F1 on a POV release CSV")
    v.add_argument("--pov-csv", required=True, metavar="FILE")
    v.add_argument("--model", metavar="MODEL.onnx", help=f"default: the bundled model ({BUNDLED_MODEL.name})")
    v.add_argument("--cpu", action="store_true", help="do not try CUDA")
    v.set_defaults(func=run_evaluate)


def _training_layer(module: str, argv: list[str]) -> int:
    if not (ROOT / "models" / "__init__.py").is_file():
        raise ModelError("training needs a POV Lab checkout (the models/ folder), not an installed app")
    if importlib.util.find_spec("torch") is None:
        raise ModelError("training needs torch: install the 'train' extra (pip install -e '.[train]')")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=ROOT, env=env, check=False).returncode


def _abs(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def run_train(args: argparse.Namespace) -> int:
    if not args.pov_csv and not args.sessions:
        raise ModelError("model train: give --pov-csv FILE and/or --sessions DIR")
    for f in args.pov_csv:
        if not Path(f).is_file():
            raise ModelError(f"{f}: POV CSV not found")
    argv = ["--out", _abs(args.out), "--seed", str(args.seed)]
    for f in args.pov_csv:
        argv += ["--pov-csv", _abs(f)]
    for d in args.sessions:
        argv += ["--sessions", _abs(d)]
    if args.ablate:
        argv += ["--ablate", args.ablate]
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    if args.ensemble:
        argv += ["--ensemble", str(args.ensemble)]
    if args.image_encoder:
        if not Path(args.image_encoder).is_file():
            raise ModelError(f"{args.image_encoder}: image encoder not found (write it with "
                             f"`povlab model export-image-encoder`)")
        argv += ["--image-encoder", _abs(args.image_encoder)]
    if args.no_image_regions:
        argv.append("--no-image-regions")
    return _training_layer("models.train", argv)


def run_export(args: argparse.Namespace) -> int:
    if not Path(args.checkpoint).is_file():
        raise ModelError(f"{args.checkpoint}: checkpoint not found")
    return _training_layer("models.export", [_abs(args.checkpoint), "--out", _abs(args.out)])


def run_export_image_encoder(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser() if args.out else default_image_encoder_path()
    return _training_layer("models.efficientnet_lite0",
                           ["--out", str(out.resolve()), *(["--if-stale"] if args.if_stale else [])])


def run_evaluate(args: argparse.Namespace) -> int:
    from app.inference.evaluation import evaluate_pov_csv
    from app.inference.onnx_model import load_fusion_model

    model = load_fusion_model(args.model or BUNDLED_MODEL, prefer_cuda=not args.cpu)
    report = evaluate_pov_csv(args.pov_csv, model)
    report["model"] = str(model.path)
    report["provider_note"] = model.provider_note
    print(json.dumps(report))
    return 0
