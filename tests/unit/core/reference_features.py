"""The feature function as it was before ``GazeTally`` (commit 244709b), kept verbatim as the oracle that the
refactored :func:`app.core.features.trial_features` and the live predictor's running tally give the same numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.core.errors import ModelError
from app.core.features import KINDS, MAX_ORDER, MAX_POSITION, UNKNOWN_STIMULUS, Fixation, Token, TrialFeatures


def reference_trial_features(tokens: Sequence[Token], fixations: Sequence[Fixation], participant: int,
                   stimulus: int = UNKNOWN_STIMULUS) -> TrialFeatures:
    """Gaze features of one trial; see the module docstring. ``fixations`` in time order.

    ``participant`` and ``stimulus`` are rows of the model's tables (:func:`participant_index`), 0 when unknown.
    """
    n = len(tokens)
    if n == 0:
        raise ModelError("trial has no tokens (no caption words and no image objects)")
    for f in fixations:
        if not -1 <= f.token < n:
            raise ModelError(f"fixation on token {f.token}: the trial has {n} tokens (use -1 for off)")
    kind = np.array([KINDS.index(t.kind) for t in tokens], dtype=np.int64)
    position = np.zeros(n, dtype=np.int64)
    for k in range(len(KINDS)):
        idx = np.flatnonzero(kind == k)
        position[idx] = np.minimum(np.arange(len(idx)), MAX_POSITION)

    count = np.zeros(n)
    dwell_s = np.zeros(n)
    first_dur = np.zeros(n)
    first_idx = np.full(n, -1)
    visits = np.zeros(n)
    trans = np.zeros((n, n))
    prev_on: int | None = None
    prev_any: int | None = None
    total = len(fixations)
    total_s = 0.0
    off_n = 0
    for i, f in enumerate(fixations):
        total_s += f.duration_s
        j = f.token
        if j < 0:
            off_n += 1
            prev_any = -1
            continue
        count[j] += 1
        dwell_s[j] += f.duration_s
        if first_idx[j] < 0:
            first_idx[j] = i
            first_dur[j] = f.duration_s
        if prev_any != j:
            visits[j] += 1
        if prev_on is not None:
            trans[prev_on, j] += 1
        prev_on = j
        prev_any = j

    fixated = first_idx >= 0
    order = np.zeros(n, dtype=np.int64)
    ranked = np.argsort(np.where(fixated, first_idx, np.iinfo(np.int64).max), kind="stable")
    for r, j in enumerate(ranked[: int(fixated.sum())]):
        order[j] = min(r + 1, MAX_ORDER)
    on_s = float(dwell_s.sum())
    n_fixated = max(int(fixated.sum()), 1)
    dwell = np.stack([
        fixated.astype(np.float64),
        np.log1p(count),
        dwell_s,
        dwell_s / on_s if on_s > 0 else np.zeros(n),
        first_dur,
        np.where(fixated, order / n_fixated, 0.0),
        np.where(fixated, first_idx / max(total, 1), 0.0),
        np.log1p(visits),
    ], axis=1)
    text_s = float(dwell_s[kind == 0].sum())
    glob = np.array([
        np.log1p(total),
        total_s,
        off_n / total if total else 0.0,
        text_s / total_s if total_s > 0 else 0.0,
        (on_s - text_s) / total_s if total_s > 0 else 0.0,
        float((kind == 0).sum()) / 20.0,
        float((kind == 1).sum()) / 10.0,
        total_s / total if total else 0.0,
    ])
    return TrialFeatures(kind, position, dwell.astype(np.float32), order, np.log1p(trans).astype(np.float32),
                         glob.astype(np.float32), int(participant), int(stimulus))
