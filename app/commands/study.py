"""``povlab study status DIR [--json]``: participants and sessions of a study folder, quality and model agreement."""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="a study: a folder of sessions recorded with one protocol")
    ssub = p.add_subparsers(dest="study_command", metavar="ACTION")
    ssub.required = True
    s = ssub.add_parser("status", help="participants and sessions: status, trials, data quality, model agreement")
    s.add_argument("folder", type=Path, metavar="DIR", help="study folder (sub-*/ses-* session folders inside)")
    s.add_argument("--json", action="store_true", help="one JSON object (documented in docs/studies.md)")
    s.set_defaults(func=run_status)
    t = ssub.add_parser("train", help="cross-validate on the study's own trials against the participant-and-image "
                        "prior, then train a model on all of them into DIR/models/ (needs torch)")
    t.add_argument("folder", type=Path, metavar="DIR", help="study folder")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--ensemble", type=int, default=3)
    t.set_defaults(func=run_train)


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _row(r: Any) -> list[str]:
    q = r.quality
    val = "-" if q.validation_mean_deg is None else \
        f"{q.validation or '?'} {q.validation_mean_deg:.2f}/{_f(q.validation_max_deg, '.2f')} deg"
    total = "?" if r.trials_total is None else str(r.trials_total)
    return [f"sub-{r.participant}", f"ses-{r.session}", str(r.run), r.status, f"{r.trials_done}/{total}", val,
            _f(q.lost_pct, ".2f"), _f(q.invalid_pct, ".1f"), f"{q.gaps} ({q.gap_s:.1f} s)" if q.gaps else "0",
            "-" if r.agreement is None else f"{r.agreement:.2f} ({r.agreement_trials})", r.action or ""]


def run_status(args: argparse.Namespace) -> int:
    from app.study.status import study_status

    st = study_status(args.folder)
    d = st.to_dict()
    if args.json:
        print(json.dumps(d, sort_keys=True))
        return 0
    t = d["totals"]
    agree = "-" if t["agreement"] is None else f"{t['agreement']:.2f} over {t['agreement_trials']} trials"
    print(f"study {st.folder}: protocol {st.protocol_name!r} (sha256 {(st.protocol_sha256 or '?')[:8]}), "
          f"{t['participants']} participants, {t['sessions']} sessions, {t['trials_done']} trials done, "
          f"model agreement {agree}")
    head = ["participant", "session", "run", "status", "trials", "validation (mean/max)", "lost %", "invalid %",
            "gaps", "agreement", "action"]
    rows = [head] + [_row(r) for r in st.runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    for r in st.runs:
        for note in r.notes:
            print(f"note: sub-{r.participant}/ses-{r.session} run {r.run}: {note}")
    return 0


def train_study(study: Path, progress: Callable[[float, str], None], cancel: threading.Event | None = None,
                folds: int = 5, epochs: int = 10, ensemble: int = 3) -> dict[str, Any]:
    """Run ``models.study_training`` in a worker process; ``progress(fraction, message)`` as it goes.

    Returns its figures; raises ModelError with the training's own error line, or when ``cancel`` was set
    (the process, which this function started, is ended by its pid and leaves no model behind).
    """
    import importlib.util
    import os
    import subprocess
    import sys
    import time

    from app.core.errors import ModelError, StudyError
    from app.core.paths import SOURCE_ROOT

    study = Path(study).resolve()
    if not study.is_dir():
        raise StudyError(f"{study}: study folder not found")
    if SOURCE_ROOT is None or not (SOURCE_ROOT / "models" / "study_training.py").is_file():
        raise ModelError("training needs POV Lab's source checkout (its models/ package); this is an installed copy")
    if importlib.util.find_spec("torch") is None:
        raise ModelError("training needs PyTorch: install the 'train' extra (pip install -e '.[train]')")
    out = study / "models" / time.strftime("model-%Y%m%d-%H%M%S", time.gmtime())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE_ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "models.study_training", "--study", str(study), "--out", str(out),
           "--folds", str(folds), "--epochs", str(epochs), "--ensemble", str(ensemble)]
    proc = subprocess.Popen(cmd, cwd=SOURCE_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(proc.stderr or []), daemon=True)  # type: ignore[arg-type]
    reader.start()
    cancelled = threading.Event()

    def watch() -> None:
        while proc.poll() is None:
            if cancel is not None and cancel.wait(0.1):
                cancelled.set()
                proc.terminate()
                return

    threading.Thread(target=watch, daemon=True).start()
    figures: dict[str, Any] | None = None
    for line in proc.stdout or []:
        try:
            msg = json.loads(line)
        except ValueError:
            continue  # the cross-validation's own summary lines
        if isinstance(msg, dict) and "progress" in msg:
            progress(float(msg["progress"]), str(msg.get("message", "")))
        elif isinstance(msg, dict) and isinstance(msg.get("figures"), dict):
            figures = msg["figures"]
    code = proc.wait()
    reader.join(5)
    if cancelled.is_set():
        raise ModelError("training cancelled; no model was written")
    if code != 0 or figures is None:
        said = [e.strip().removeprefix("povlab: error: ") for e in errors if e.startswith("povlab: error: ")]
        raise ModelError(said[-1] if said else f"training failed (exit {code}): {''.join(errors)[-300:].strip()}")
    return figures


def run_train(args: argparse.Namespace) -> int:
    import sys

    def show(fraction: float, message: str) -> None:
        print(f"\rtraining {fraction:4.0%}  {message[:70]:<70}", end="", file=sys.stderr, flush=True)

    f = train_study(args.folder, show, None, args.folds, args.epochs, args.ensemble)
    print(file=sys.stderr)
    m, prior, yes = f["model"], f["participant_image_prior"], f["always_yes"]
    print(f"{f['trials']} trials of {len(f['participants'])} participants, {f['folds']}-fold cross-validation: "
          f"model {m['accuracy_mean']:.3f} +- {m['accuracy_std']:.3f}, participant-and-image prior "
          f"{prior['accuracy_mean']:.3f} +- {prior['accuracy_std']:.3f}, always YES {yes['accuracy_mean']:.3f}")
    print(f["folder"])
    return 0
