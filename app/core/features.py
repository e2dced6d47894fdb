"""THE feature function: one trial (tokens + fixations + participant) -> the fusion model's input arrays.

Training (``models/``), offline evaluation and the live predictor all call :func:`trial_features` and
:func:`batch_inputs`, so a model sees the same numbers in the lab as in training. Gaze enters as in the POV
study (arXiv 2405.04443, following the gaze-biased attention of Sood et al. 2020, "Improving natural language
processing tasks with human gaze-guided neural attention"):

- ``transitions[i, j]``: log(1 + number of saccades from token i to token j), skipping off-AOI fixations; the
  model adds it, scaled per head, to its attention logits (an additive attention bias);
- ``dwell[i]``: per-token dwell features (``DWELL_FEATURES``);
- ``order[i]``: rank of the token's first fixation (1 = first token looked at, 0 = never looked at);
- ``glob``: trial-level gaze summary (``GLOBAL_FEATURES``).

Token content (``embedding``) comes from the text encoder, computed once per stimulus and cached by the caller.
Where the stimulus image is at hand, an object token also carries image-region features (``region``, EfficientNet-
Lite0 over the object's box, unit length, :mod:`app.inference.region_encoder`); words and objects without an image
carry zeros there, and a model trained without images has an all-zero region projection, so zeros change nothing.
Bump ``FEATURE_VERSION`` whenever any number computed here changes meaning; models record it and the predictor
refuses a model made for a newer version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import ModelError

FEATURE_VERSION = 2  # 2: the ``region`` input (image-region features of object tokens)
KINDS = ("word", "object")
DWELL_FEATURES = ("fixated", "log_count", "dwell_s", "dwell_share", "first_duration_s", "first_rank_norm",
                  "first_time_norm", "log_visits")
GLOBAL_FEATURES = ("log_fixations", "total_s", "off_share", "text_share", "image_share", "words_norm",
                   "objects_norm", "mean_duration_s")
MAX_ORDER = 31  # ranks above this share the last order embedding
MAX_POSITION = 63  # positions above this share the last position embedding
UNKNOWN_PARTICIPANT = 0  # index of the shared embedding for participants not seen in training
_NEVER = np.iinfo(np.int64).max  # sort key of a token never looked at
UNKNOWN_STIMULUS = 0  # index of the shared embedding for stimuli not seen in training
REGION_DIM = 1280  # EfficientNet-Lite0's pooled head output
INPUT_NAMES = ("embedding", "kind", "position", "dwell", "order", "transitions", "mask", "glob", "participant",
               "stimulus", "region")
INPUT_NAMES_V1 = INPUT_NAMES[:-1]  # models made for feature version 1 have no ``region`` input


@dataclass(frozen=True)
class Token:
    kind: str  # "word" (a caption word) or "object" (an image region)
    text: str  # the word or the object label, as the text encoder reads it

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ModelError(f"token {self.text!r}: kind must be one of {KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class Fixation:
    token: int  # index into the trial's tokens, -1 when off every token
    duration_s: float
    onset_s: float | None = None

    def __post_init__(self) -> None:
        if not (self.duration_s >= 0.0 and np.isfinite(self.duration_s)):
            raise ModelError(f"fixation: duration_s must be a finite number >= 0, got {self.duration_s}")


@dataclass(frozen=True)
class TrialFeatures:
    kind: NDArray[np.int64]  # [T] 0 word, 1 object
    position: NDArray[np.int64]  # [T] position among tokens of the same kind
    dwell: NDArray[np.float32]  # [T, len(DWELL_FEATURES)]
    order: NDArray[np.int64]  # [T] first-fixation rank, 0 = never
    transitions: NDArray[np.float32]  # [T, T] log1p(saccade counts i -> j)
    glob: NDArray[np.float32]  # [len(GLOBAL_FEATURES)]
    participant: int  # index into the model's participant table (UNKNOWN_PARTICIPANT if unseen)
    stimulus: int = UNKNOWN_STIMULUS  # index into the model's stimulus table (UNKNOWN_STIMULUS if unseen)

    @property
    def n_tokens(self) -> int:
        return int(self.kind.shape[0])


def participant_index(participants: Mapping[str, int], participant_id: str | None) -> int:
    """The model's row for a participant (or stimulus) id, or the shared unknown row 0."""
    if participant_id is None:
        return UNKNOWN_PARTICIPANT
    return participants.get(participant_id, UNKNOWN_PARTICIPANT)


def token_layout(tokens: Sequence[Token]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``kind`` and ``position`` of a trial's tokens (they depend on the tokens only, not on gaze)."""
    n = len(tokens)
    if n == 0:
        raise ModelError("trial has no tokens (no caption words and no image objects)")
    kind = np.array([KINDS.index(t.kind) for t in tokens], dtype=np.int64)
    position = np.zeros(n, dtype=np.int64)
    for k in range(len(KINDS)):
        idx = np.flatnonzero(kind == k)
        position[idx] = np.minimum(np.arange(len(idx)), MAX_POSITION)
    return kind, position


class GazeTally:
    """The running counts behind :func:`trial_features`: fixations are added one at a time, in time order, and
    :meth:`features` gives the features of the fixations added so far (the same numbers as ``trial_features``
    over them, which is this class run over the whole list). The live predictor keeps one per trial and adds
    each fixation as it ends instead of recounting the whole trial."""

    def __init__(self, n_tokens: int) -> None:
        n = n_tokens
        self.n = n
        self.count = np.zeros(n)
        self.dwell_s = np.zeros(n)
        self.first_dur = np.zeros(n)
        self.first_idx = np.full(n, -1)
        self.visits = np.zeros(n)
        self.trans = np.zeros((n, n))
        self.prev_on: int | None = None
        self.prev_any: int | None = None
        self.total = 0
        self.total_s = 0.0
        self.off_n = 0

    def add(self, f: Fixation) -> None:
        """Count one fixation (the next one in time)."""
        if not -1 <= f.token < self.n:
            raise ModelError(f"fixation on token {f.token}: the trial has {self.n} tokens (use -1 for off)")
        i = self.total
        self.total += 1
        self.total_s += f.duration_s
        j = f.token
        if j < 0:
            self.off_n += 1
            self.prev_any = -1
            return
        self.count[j] += 1
        self.dwell_s[j] += f.duration_s
        if self.first_idx[j] < 0:
            self.first_idx[j] = i
            self.first_dur[j] = f.duration_s
        if self.prev_any != j:
            self.visits[j] += 1
        if self.prev_on is not None:
            self.trans[self.prev_on, j] += 1
        self.prev_on = j
        self.prev_any = j

    def features(self, kind: NDArray[np.int64], position: NDArray[np.int64], participant: int,
                 stimulus: int = UNKNOWN_STIMULUS) -> TrialFeatures:
        """Features of the fixations added so far; ``kind`` and ``position`` from :func:`token_layout`."""
        n, total, total_s, dwell_s, first_idx = self.n, self.total, self.total_s, self.dwell_s, self.first_idx
        fixated = first_idx >= 0
        n_seen = int(np.count_nonzero(fixated))
        order = np.zeros(n, dtype=np.int64)
        ranked = np.argsort(np.where(fixated, first_idx, _NEVER), kind="stable")
        order[ranked[:n_seen]] = np.minimum(np.arange(1, n_seen + 1), MAX_ORDER)  # rank of the first look
        on_s = float(dwell_s.sum())
        n_fixated = max(n_seen, 1)
        dwell = np.empty((n, len(DWELL_FEATURES)))
        dwell[:, 0] = fixated
        np.log1p(self.count, out=dwell[:, 1])
        dwell[:, 2] = dwell_s
        if on_s > 0:
            np.divide(dwell_s, on_s, out=dwell[:, 3])
        else:
            dwell[:, 3] = 0.0
        dwell[:, 4] = self.first_dur
        dwell[:, 5] = np.where(fixated, order / n_fixated, 0.0)
        dwell[:, 6] = np.where(fixated, first_idx / max(total, 1), 0.0)
        np.log1p(self.visits, out=dwell[:, 7])
        text_s = float(dwell_s[kind == 0].sum())
        glob = np.array([
            np.log1p(total),
            total_s,
            self.off_n / total if total else 0.0,
            text_s / total_s if total_s > 0 else 0.0,
            (on_s - text_s) / total_s if total_s > 0 else 0.0,
            float((kind == 0).sum()) / 20.0,
            float((kind == 1).sum()) / 10.0,
            total_s / total if total else 0.0,
        ])
        return TrialFeatures(kind, position, dwell.astype(np.float32), order, np.log1p(self.trans).astype(np.float32),
                             glob.astype(np.float32), int(participant), int(stimulus))


def trial_features(tokens: Sequence[Token], fixations: Sequence[Fixation], participant: int,
                   stimulus: int = UNKNOWN_STIMULUS) -> TrialFeatures:
    """Gaze features of one trial; see the module docstring. ``fixations`` in time order.

    ``participant`` and ``stimulus`` are rows of the model's tables (:func:`participant_index`), 0 when unknown.
    """
    kind, position = token_layout(tokens)
    n = len(tokens)
    for f in fixations:  # all checked before any is counted (one clear error for the first bad one)
        if not -1 <= f.token < n:
            raise ModelError(f"fixation on token {f.token}: the trial has {n} tokens (use -1 for off)")
    tally = GazeTally(n)
    for f in fixations:
        tally.add(f)
    return tally.features(kind, position, participant, stimulus)


def batch_inputs(items: Sequence[tuple[NDArray[np.float32], TrialFeatures]
                                | tuple[NDArray[np.float32], TrialFeatures, NDArray[np.float32] | None]]
                 ) -> dict[str, NDArray]:
    """Pad a batch into the model's named inputs (``INPUT_NAMES``).

    Each item is (token embeddings [T, E], features) or (token embeddings, features, region features [T,
    REGION_DIM] or None); missing region features are zeros.
    """
    if not items:
        raise ModelError("empty batch")
    b = len(items)
    t_max = max(it[1].n_tokens for it in items)
    e = items[0][0].shape[1]
    out: dict[str, NDArray] = {
        "embedding": np.zeros((b, t_max, e), np.float32),
        "kind": np.zeros((b, t_max), np.int64),
        "position": np.zeros((b, t_max), np.int64),
        "dwell": np.zeros((b, t_max, len(DWELL_FEATURES)), np.float32),
        "order": np.zeros((b, t_max), np.int64),
        "transitions": np.zeros((b, t_max, t_max), np.float32),
        "mask": np.zeros((b, t_max), np.float32),
        "glob": np.zeros((b, len(GLOBAL_FEATURES)), np.float32),
        "participant": np.zeros((b,), np.int64),
        "stimulus": np.zeros((b,), np.int64),
        "region": np.zeros((b, t_max, REGION_DIM), np.float32),
    }
    for i, item in enumerate(items):
        emb, f = item[0], item[1]
        region = item[2] if len(item) > 2 else None
        n = f.n_tokens
        if emb.shape != (n, e):
            raise ModelError(f"batch item {i}: embeddings of shape {emb.shape}, expected ({n}, {e})")
        out["embedding"][i, :n] = emb
        out["kind"][i, :n] = f.kind
        out["position"][i, :n] = f.position
        out["dwell"][i, :n] = f.dwell
        out["order"][i, :n] = f.order
        out["transitions"][i, :n, :n] = f.transitions
        out["mask"][i, :n] = 1.0
        out["glob"][i] = f.glob
        out["participant"][i] = f.participant
        out["stimulus"][i] = f.stimulus
        if region is not None:
            if region.shape != (n, REGION_DIM):
                raise ModelError(f"batch item {i}: region features of shape {region.shape}, "
                                 f"expected ({n}, {REGION_DIM})")
            if not np.all(np.isfinite(region)):
                raise ModelError(f"batch item {i}: region features are not all finite")
            out["region"][i, :n] = region
    return out
