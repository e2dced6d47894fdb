"""Offline evaluation of a fusion model on recorded sessions (this app's XDFs), with ONNX Runtime alone.

Each answered trial of a recording becomes the model's input exactly as for training on sessions
(``models/recorded_trials.py``): tokens from the trial's ``!V IAREA`` names in order, fixations from the
``PovLab-Fixations`` stream (``aoi_index`` 1-based, -1 off), the participant from the ``sub-<label>`` in the
path, the stimulus from the trial id. Participants and trial ids the model has not seen use its shared row 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.answered_trials import answered_trials
from app.core.errors import RecordingError
from app.core.features import Fixation, Token, batch_inputs, participant_index, trial_features
from app.core.pov_release import token_for_label
from app.core.streams import FIXATIONS, MARKERS
from app.formats.xdf_reader import read_session_xdf
from app.inference.onnx_model import FusionModel
from app.inference.text_encoder import EmbeddingCache

BATCH = 64


@dataclass(frozen=True)
class RecordedTrial:
    participant: str
    trial_id: str
    practice: bool
    tokens: tuple[Token, ...]
    fixations: tuple[Fixation, ...]
    answer: int  # 0 yes, 1 no, 2 unclear (TRIAL_RESULT)


def recorded_trials(xdf: Path) -> list[RecordedTrial]:
    """The answered trials of one recording (a timeout or a trial without AOIs has nothing to learn or test)."""
    contents = read_session_xdf(xdf)
    mk, fx = contents.get(MARKERS.name), contents.get(FIXATIONS.name)
    if mk is None or fx is None or not isinstance(mk.time_series, list) or isinstance(fx.time_series, list):
        raise RecordingError(f"{xdf}: needs the {MARKERS.name} and {FIXATIONS.name} streams")
    m = re.search(r"sub-([A-Za-z0-9]+)", str(xdf))
    participant = m.group(1) if m else xdf.parent.name
    return [RecordedTrial(participant, tr.trial_id, tr.practice, tuple(token_for_label(a) for a in tr.aoi_names),
                          tr.fixations, tr.answer) for tr in answered_trials(mk.strings(), np.asarray(fx.time_series, dtype=np.float64))]


def session_trials(folders: list[Path]) -> list[RecordedTrial]:
    files = sorted(p for f in folders for p in Path(f).rglob("*.xdf"))
    if not files:
        raise RecordingError(f"no .xdf recordings under {', '.join(map(str, folders))}")
    return [t for f in files for t in recorded_trials(f)]


def predict_trials(trials: list[RecordedTrial], model: FusionModel,
                   cache: EmbeddingCache | None = None) -> np.ndarray:
    """Predicted answer index (0 yes, 1 no, 2 unclear) of each trial."""
    cache = cache or EmbeddingCache()
    cache.embed(sorted({tok.text for t in trials for tok in t.tokens}))
    stimuli = {str(k): int(v) for k, v in json.loads(model.metadata.get("povlab.stimuli", "{}")).items()}
    items = [(cache.embed([tok.text for tok in t.tokens]),
              trial_features(t.tokens, t.fixations, participant_index(model.participants, t.participant),
                             participant_index(stimuli, t.trial_id))) for t in trials]
    preds = [model.logits(batch_inputs(items[b:b + BATCH])).argmax(axis=1) for b in range(0, len(items), BATCH)]
    return np.concatenate(preds) if preds else np.empty(0, dtype=np.int64)
