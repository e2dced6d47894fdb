"""Offline evaluation of a fusion model on a POV release CSV, with ONNX Runtime alone (no torch).

Tokens are rebuilt from the CSV being read (:func:`app.core.pov_release.stimulus_tokens`); participants and stimuli
are looked up in the tables the model file carries (unknown ones use the shared row 0); token texts are embedded
with the offline ONNX text encoder (:mod:`app.inference.text_encoder`), so nothing from the training data is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.core.features import Token, batch_inputs, participant_index, trial_features
from app.core.pov_release import read_pov_csv, stimulus_tokens, trial_fixations
from app.inference.metrics import classification_report
from app.inference.onnx_model import FusionModel, load_fusion_model
from app.inference.text_encoder import EmbeddingCache

BATCH = 64


def evaluate_pov_csv(csv_path: str | Path, model: FusionModel | str | Path,
                     cache: EmbeddingCache | None = None) -> dict:
    fm = model if isinstance(model, FusionModel) else load_fusion_model(model)
    trials = read_pov_csv(csv_path)
    stim = stimulus_tokens(trials, json.loads(fm.metadata.get("povlab.stimulus_labels", "{}")))
    cache = cache or EmbeddingCache()
    cache.embed(sorted({t.text for _, toks in stim.values() for t in toks}))
    stimuli = {str(k): int(v) for k, v in json.loads(fm.metadata.get("povlab.stimuli", "{}")).items()}
    items = []
    for t in trials:
        labels, tokens = stim.get(t.image_id, ((), ()))
        if not tokens:
            labels, tokens = ("txt_",), (Token("word", ""),)
        feats = trial_features(tokens, trial_fixations(t, labels), participant_index(fm.participants, t.participant),
                               participant_index(stimuli, t.image_id))
        items.append((cache.embed([tok.text for tok in tokens]), feats))
    preds = []
    for b0 in range(0, len(items), BATCH):
        preds.append(fm.logits(batch_inputs(items[b0:b0 + BATCH])).argmax(axis=1))
    y_pred = np.concatenate(preds)
    report = classification_report([t.answer for t in trials], y_pred, fm.labels)
    report["provider"] = fm.provider
    return report
