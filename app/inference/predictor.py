"""Live predictions for a session: ONNX Runtime only, token embeddings computed once per protocol.

Stable API (used by the session)::

    predictor = LivePredictor.load(model_path, protocol)   # model_path None -> the bundled model
    predictor.provider                                      # "CUDAExecutionProvider" or "CPUExecutionProvider"
    probs = predictor.update(trial_id, participant_id, fixations)
        # fixations: the trial's completed fixations so far, in time order, each (aoi_index, duration_s)
        # with aoi_index into layout_trial(protocol, trial).aois, -1 when off every AOI
        # (app.core.features.Fixation objects are accepted too); returns probabilities in predictor.labels
        # order ("YES", "NO", "UNCLEAR"), a float64 array of 3
    predictor.personalise(participant_id, labelled_trials)
        # labelled_trials: [(trial_id, fixations, answer)], answer "yes"/"no"/"unclear" or 0/1/2;
        # fits that participant's logit bias (app.inference.personalise); later updates use it

Tokens are the trial's AOIs in layout order (caption words, then image objects, POV-style names
``txt_<word>[k]``/``vis_<label>``), which is also the order of ``aoi_index``. Their text embeddings are computed
with the offline encoder when the predictor is built (or read from ``cache_dir``, keyed by the encoder and the
texts), so an update runs only the feature function and the fusion model. An update goes through the trial's
:class:`~app.inference.live_feed.TrialFeed`: the gaze-independent inputs built once, the new fixations added to a
running tally, and the model run on buffers bound to ONNX Runtime once (``logits_reference`` is the plain path,
``trial_features`` + ``batch_inputs`` + ``session.run``, which gives the same numbers). A model trained on image-region
features (``uses_regions``, from a lab's sessions with their stimuli) also gets the EfficientNet-Lite0 features of
each object AOI's box, computed once per protocol with ONNX Runtime and cached the same way; a model trained
without them (the bundled one) needs no image encoder.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.answers import ANSWER_INDEX
from app.core.errors import ModelError
from app.core.features import REGION_DIM, Fixation, Token, batch_inputs, participant_index, trial_features
from app.core.hashing import sha256_file
from app.core.layout import TrialLayout, layout_trial
from app.core.limits import safe_filename
from app.core.paths import BUNDLED_MODEL
from app.core.pov_release import token_for_label
from app.core.protocol import Protocol, Trial
from app.inference.live_feed import TrialFeed
from app.inference.live_feed import as_fixation as _as_fixation
from app.inference.onnx_model import FusionModel, load_fusion_model, softmax
from app.inference.personalise import fit_logit_bias
from app.inference.region_encoder import RegionEncoder, object_polygons, token_regions
from app.inference.text_encoder import EmbeddingCache


def default_cache_dir() -> Path:
    return Path(os.environ.get("POVLAB_CACHE", Path.home() / ".cache" / "povlab")) / "embeddings"


@dataclass(frozen=True)
class StimulusTokens:
    tokens: tuple[Token, ...]
    embedding: NDArray[np.float32]  # [T, E]
    stimulus: int  # row of the model's stimulus table, 0 if unknown
    region: NDArray[np.float32] | None = None  # [T, REGION_DIM] image-region features (zeros for words)


def as_fixations(fixations: Sequence) -> list[Fixation]:
    return [_as_fixation(f) for f in fixations]


def _protocol_regions(layouts: Sequence[tuple[Trial, TrialLayout]], encoder_path: Path | None, cache_dir: Path
                      ) -> dict[str, NDArray]:
    """Trial id -> [T, REGION_DIM] image-region features (zeros for words), cached per encoder and stimulus."""
    encoder = RegionEncoder.load(encoder_path)
    out: dict[str, NDArray] = {}
    for trial, lay in layouts:
        rows, polygons = object_polygons(lay, trial)
        try:
            image_sha = sha256_file(trial.image)
        except OSError as exc:
            raise ModelError(f"{trial.image}: cannot read the stimulus image ({exc.strerror})") from exc
        key = hashlib.sha256(json.dumps([encoder.name, image_sha, polygons]).encode()).hexdigest()[:24]
        path = cache_dir / "regions" / f"{key}.npy"
        feats: NDArray | None = None
        if path.is_file():
            try:
                feats = np.load(path)
            except (OSError, ValueError):
                feats = None  # a damaged cache entry: compute again
            if feats is not None and feats.shape != (len(polygons), REGION_DIM):
                feats = None
        if feats is None:
            feats = encoder.encode(trial.image, polygons)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".tmp.npy")
                np.save(tmp, feats)
                tmp.replace(path)
            except OSError:
                pass  # a read-only cache only costs the recomputation next time
        out[trial.trial_id] = token_regions(len(lay.aois), rows, feats)
    return out


class LivePredictor:
    def __init__(self, model: FusionModel, stimuli: dict[str, StimulusTokens]) -> None:
        self.model = model
        self.stimuli = stimuli
        self.biases: dict[str, NDArray[np.float64]] = {}
        self.feeds: dict[str, TrialFeed] = {}  # trial id -> its bound inputs and gaze tally
        self._lock = threading.Lock()
        for trial_id in stimuli:  # made and run once now: a trial's first live update pays no set-up (~0.3 ms)
            self._feed(trial_id).warm()

    @property
    def provider(self) -> str:
        return self.model.provider

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    @classmethod
    def load(cls, model_path: str | Path | None, protocol: Protocol, cache_dir: Path | None = None,
             prefer_cuda: bool = True, image_encoder: Path | None = None) -> LivePredictor:
        """``image_encoder``: the EfficientNet-Lite0 ONNX file, used only by a model with ``uses_regions``
        (default: where ``povlab model export-image-encoder`` writes it)."""
        model = load_fusion_model(model_path or BUNDLED_MODEL, prefer_cuda=prefer_cuda)
        stimuli_rows = json.loads(model.metadata.get("povlab.stimuli", "{}"))
        layouts = [(trial, layout_trial(protocol, trial)) for trial in protocol.all_trials]
        per_trial = {trial.trial_id: tuple(token_for_label(a.name) for a in lay.aois) for trial, lay in layouts}
        texts = sorted({t.text for toks in per_trial.values() for t in toks})
        key = hashlib.sha256(("\n".join([model.encoder, *texts])).encode()).hexdigest()[:16]
        # the protocol's name is user text: made a safe file name, so it never leaves the cache folder
        cache = EmbeddingCache(path=(cache_dir or default_cache_dir()) / f"{safe_filename(protocol.name, 40)}-{key}.npz")
        cache.embed(texts)
        regions = _protocol_regions(layouts, image_encoder, cache_dir or default_cache_dir()) \
            if model.uses_regions else {}
        stimuli = {tid: StimulusTokens(toks, cache.embed([t.text for t in toks]), int(stimuli_rows.get(tid, 0)),
                                       regions.get(tid)) for tid, toks in per_trial.items()}
        return cls(model, stimuli)

    def _inputs(self, trial_id: str, participant_id: str | None, fixations: Sequence) -> dict[str, NDArray]:
        st = self.stimuli.get(trial_id)
        if st is None:
            raise ModelError(f"trial {trial_id!r} is not in the protocol the predictor was built for")
        feats = trial_features(st.tokens, as_fixations(fixations),
                               participant_index(self.model.participants, participant_id), st.stimulus)
        return batch_inputs([(st.embedding, feats, st.region)])

    def _feed(self, trial_id: str) -> TrialFeed:
        feed = self.feeds.get(trial_id)
        if feed is None:
            st = self.stimuli.get(trial_id)
            if st is None:
                raise ModelError(f"trial {trial_id!r} is not in the protocol the predictor was built for")
            feed = TrialFeed(self.model.session, self.model.input_names, st.tokens, st.embedding, st.stimulus,
                             st.region, len(self.labels))
            self.feeds[trial_id] = feed
        return feed

    def logits(self, trial_id: str, participant_id: str | None, fixations: Sequence) -> NDArray[np.float64]:
        """Model logits plus the participant's personal bias (if any), through the trial's feed."""
        row = participant_index(self.model.participants, participant_id)
        with self._lock:
            feed = self._feed(trial_id)
            z = feed.logits(row, fixations).astype(np.float64)
        return z + self.biases.get(participant_id or "", 0.0)

    def logits_reference(self, trial_id: str, participant_id: str | None, fixations: Sequence
                         ) -> NDArray[np.float64]:
        """:meth:`logits` the plain way (the whole list's features, padded inputs, ``session.run``)."""
        z = self.model.logits(self._inputs(trial_id, participant_id, fixations))[0].astype(np.float64)
        return z + self.biases.get(participant_id or "", 0.0)

    def update(self, trial_id: str, participant_id: str | None, fixations: Sequence) -> NDArray[np.float64]:
        """Probabilities (``labels`` order) for the trial given the fixations completed so far."""
        return softmax(self.logits(trial_id, participant_id, fixations))

    def personalise(self, participant_id: str, labelled_trials: Sequence[tuple[str, Sequence, str | int]]
                    ) -> NDArray[np.float64]:
        """Fit the participant's logit bias from answered trials; returns it (zeros for no usable trials)."""
        zs, ys = [], []
        for trial_id, fixations, answer in labelled_trials:
            y = ANSWER_INDEX.get(str(answer).lower()) if isinstance(answer, str) else int(answer)
            if y not in (0, 1, 2):
                continue  # timeouts and unknown answers teach nothing
            z = self.model.logits(self._inputs(trial_id, participant_id, fixations))[0]
            zs.append(z)
            ys.append(y)
        bias = fit_logit_bias(np.array(zs).reshape(len(ys), len(self.labels)), np.array(ys, dtype=np.int64))
        self.biases[participant_id] = bias
        return bias
