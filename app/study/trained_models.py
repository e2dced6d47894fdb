"""Models trained on a study, kept in its folder: ``<study>/models/<name>/`` with ``model.onnx`` and ``figures.json``.

:func:`study_models` lists them newest first with the cross-validated figures that
:mod:`models.study_training` wrote, so the window (and a lab) can compare them and pick one for the
next sessions. A folder without both files (a run that was cancelled or failed) is not a model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS_DIR = "models"


@dataclass(frozen=True)
class TrainedModel:
    folder: Path
    onnx: Path
    created_utc: str
    trials: int
    participants: int
    accuracy: float  # cross-validated, mean over folds
    accuracy_std: float
    prior_accuracy: float  # the participant-and-image prior on the same folds
    always_yes: float

    @property
    def gain(self) -> float:
        return self.accuracy - self.prior_accuracy


def _model(folder: Path) -> TrainedModel | None:
    onnx, figures = folder / "model.onnx", folder / "figures.json"
    if not (onnx.is_file() and figures.is_file()):
        return None
    try:
        f: dict[str, Any] = json.loads(figures.read_text(encoding="utf-8"))
        return TrainedModel(folder, onnx, str(f["created_utc"]), int(f["trials"]), len(f["participants"]),
                            float(f["model"]["accuracy_mean"]), float(f["model"]["accuracy_std"]),
                            float(f["participant_image_prior"]["accuracy_mean"]),
                            float(f["always_yes"]["accuracy_mean"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not written by models.study_training: not listed


def study_models(study: Path | str) -> list[TrainedModel]:
    root = Path(study) / MODELS_DIR
    if not root.is_dir():
        return []
    found = [m for d in root.iterdir() if d.is_dir() and not d.name.endswith(".partial") and (m := _model(d))]
    return sorted(found, key=lambda m: m.created_utc, reverse=True)
