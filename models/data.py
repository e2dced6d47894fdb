"""Training examples from the POV release and from this app's own sessions, through THE feature function.

Every example is (tokens, fixations, participant id, image id, label); :func:`encode_examples` turns a list of them
into padded model inputs with :func:`app.core.features.trial_features` and :func:`app.core.features.batch_inputs`,
the same code the live predictor runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.core.features import Fixation, Token, batch_inputs, participant_index, trial_features
from app.core.pov_release import read_pov_csv, stimulus_tokens, trial_fixations
from app.inference.text_encoder import EmbeddingCache


@dataclass(frozen=True)
class Example:
    tokens: tuple[Token, ...]
    fixations: tuple[Fixation, ...]
    participant: str
    image_id: str
    label: int  # 0 YES, 1 NO, 2 UNCLEAR
    source: str  # file it came from
    # [T, REGION_DIM] image-region features (zeros for words), or None when the stimulus image is not at hand
    regions: np.ndarray | None = field(default=None, compare=False, repr=False)


def pov_stimulus_labels(path: str | Path) -> dict[str, list[str]]:
    """Token labels per image id as :func:`pov_examples` builds them (saved with a model, see evaluate)."""
    return {k: list(labels) for k, (labels, _) in stimulus_tokens(read_pov_csv(path)).items()}


def pov_examples(path: str | Path) -> list[Example]:
    """One example per trial of a POV release CSV (tokens rebuilt from the labels of the same file)."""
    trials = read_pov_csv(path)
    stim = stimulus_tokens(trials)
    out = []
    for t in trials:
        labels, tokens = stim.get(t.image_id, ((), ()))
        if not tokens:
            labels, tokens = ("txt_",), (Token("word", ""),)  # a trial on an image nobody fixated: one empty word
        out.append(Example(tokens, tuple(trial_fixations(t, labels)), t.participant, t.image_id, t.answer,
                           str(path)))
    return out


def prefix_copies(examples: Sequence[Example], k: int, seed: int = 0) -> list[Example]:
    """k copies of each example cut after a random share (30-95 %) of its fixations: the partial trials a live
    session predicts on, as training augmentation."""
    rng = np.random.default_rng(seed)
    out = []
    for e in examples:
        for _ in range(k):
            n = max(1, int(round(len(e.fixations) * rng.uniform(0.3, 0.95))))
            out.append(replace(e, fixations=e.fixations[:n]))
    return out


def data_hash(paths: Sequence[str | Path]) -> str:
    """sha256 over the training files' bytes, in the order given."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def participant_table(examples: Sequence[Example]) -> dict[str, int]:
    """Participant id -> embedding row; row 0 is the shared unknown participant."""
    return {pid: i + 1 for i, pid in enumerate(sorted({e.participant for e in examples}))}


def stimulus_table(examples: Sequence[Example]) -> dict[str, int]:
    """Stimulus (image) id -> embedding row; row 0 is the shared unknown stimulus."""
    return {sid: i + 1 for i, sid in enumerate(sorted({e.image_id for e in examples}))}


def encode_examples(examples: Sequence[Example], participants: Mapping[str, int],
                    cache: EmbeddingCache, stimuli: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """Padded model inputs for all examples, plus ``label``."""
    texts = sorted({t.text for e in examples for t in e.tokens})
    cache.embed(texts)
    items = []
    for e in examples:
        emb = cache.embed([t.text for t in e.tokens])
        feats = trial_features(e.tokens, e.fixations, participant_index(participants, e.participant),
                               participant_index(stimuli or {}, e.image_id))
        items.append((emb, feats, e.regions))
    out = batch_inputs(items)
    out["label"] = np.array([e.label for e in examples], np.int64)
    return out
