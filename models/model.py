"""The perception-guided multimodal transformer, top to bottom in one file.

Predicts a participant's own answer (YES / NO / UNCLEAR to "does the caption mention the central entities in the
image?") from the stimulus tokens (caption words and image objects) and that participant's gaze on them, as in
the POV study (arXiv 2405.04443). Gaze enters three ways:

1. an additive attention bias from the fixation transitions between tokens, scaled by a learned weight per head
   and layer (gaze-guided attention, Sood et al. 2020, NeurIPS; the POV paper's gaze-biased transformer);
2. per-token dwell features and the rank of the first fixation, added to the token embeddings;
3. a trial-level gaze summary, joined to the [CLS] output.

Object tokens whose stimulus image is at hand also carry image-region features (EfficientNet-Lite0 over the object's
box, ``region``), projected into the token through a weight matrix that starts at zero and has no bias: a model
trained only on the POV release (no images, all-zero ``region``) keeps it at zero, so it ignores region features it
never learnt from, and one trained on a lab's sessions (``--sessions``, stimuli at hand) learns it.

A learned participant embedding (row 0 = the shared embedding for participants not seen in training, trained by
dropping known ids to 0 with probability ``participant_dropout``) is added to the [CLS] token, and so is a learned
stimulus embedding (the POV release's images recur across its splits; row 0 for a stimulus not seen in training,
e.g. every trial of a new lab protocol).

Inputs (names and meaning from :mod:`app.core.features`; B batch, T tokens, E text-embedding size)::

    embedding [B,T,E] float  kind [B,T] int  position [B,T] int  dwell [B,T,D] float  order [B,T] int
    transitions [B,T,T] float  mask [B,T] float (1 real, 0 pad)  glob [B,G] float  participant [B] int
    stimulus [B] int  region [B,T,R] float (zeros where no image)

Output: ``logits`` [B,3] in the order of ``LABELS``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from app.core.answers import LABELS
from app.core.features import (
    DWELL_FEATURES,
    FEATURE_VERSION,
    GLOBAL_FEATURES,
    MAX_ORDER,
    MAX_POSITION,
    REGION_DIM,
)


@dataclass(frozen=True)
class ModelConfig:
    n_participants: int = 1  # including row 0, the shared unknown participant
    n_stimuli: int = 1  # including row 0, the shared unknown stimulus
    emb_dim: int = 384  # text encoder output size
    region_dim: int = REGION_DIM  # image-region feature size
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 1
    d_ff: int = 64
    dropout: float = 0.3
    participant_dropout: float = 0.2
    use_gaze: bool = True
    use_participant: bool = True
    use_stimulus: bool = True
    dwell_dim: int = len(DWELL_FEATURES)
    glob_dim: int = len(GLOBAL_FEATURES)
    n_classes: int = len(LABELS)
    feature_version: int = FEATURE_VERSION

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} must be a multiple of n_heads {self.n_heads}")
        if self.n_participants < 1:
            raise ValueError("n_participants must be >= 1 (row 0 is the unknown participant)")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls(**json.loads(text))


class GazeBiasedAttention(nn.Module):
    """Multi-head self-attention with an additive bias: softmax(QK^T/sqrt(d) + bias) V (Vaswani et al. 2017)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.h, self.dh = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.gaze_scale = nn.Parameter(torch.zeros(cfg.n_heads, 2))  # per head: forward and backward transitions
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, pad_bias: torch.Tensor, trans: torch.Tensor | None) -> torch.Tensor:
        b, s, d = x.shape  # [B,S,d], S = T + 1 with [CLS]
        q, k, v = self.qkv(x).view(b, s, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)  # each [B,H,S,dh]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.dh) + pad_bias  # [B,H,S,S]
        if trans is not None:  # trans [B,S,S]
            fwd = self.gaze_scale[:, 0].view(1, self.h, 1, 1) * trans.unsqueeze(1)
            bwd = self.gaze_scale[:, 1].view(1, self.h, 1, 1) * trans.transpose(-1, -2).unsqueeze(1)
            scores = scores + fwd + bwd
        att = self.drop(torch.softmax(scores, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, s, d)
        return self.out(y)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = GazeBiasedAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model),
                                 nn.Dropout(cfg.dropout))

    def forward(self, x: torch.Tensor, pad_bias: torch.Tensor, trans: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), pad_bias, trans)
        return x + self.mlp(self.ln2(x))


class PovTransformer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.content = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.emb_dim, d))
        self.kind = nn.Embedding(2, d)
        self.position = nn.Embedding(MAX_POSITION + 1, d)
        self.dwell = nn.Linear(cfg.dwell_dim, d)
        self.order = nn.Embedding(MAX_ORDER + 1, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.participant = nn.Embedding(cfg.n_participants, d)
        self.stimulus = nn.Embedding(cfg.n_stimuli, d)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_f = nn.LayerNorm(d)
        head_in = d + (cfg.glob_dim if cfg.use_gaze else 0) + (d if cfg.use_participant else 0) + \
            (d if cfg.use_stimulus else 0)
        self.head = nn.Sequential(nn.Linear(head_in, d), nn.GELU(), nn.Dropout(cfg.dropout),
                                  nn.Linear(d, cfg.n_classes))
        nn.init.normal_(self.cls, std=0.02)
        nn.init.normal_(self.participant.weight, std=0.02)
        nn.init.normal_(self.stimulus.weight, std=0.02)
        # created last and from zeros (no random draws): the other weights start as they did before regions
        self.region = nn.Parameter(torch.zeros(cfg.region_dim, d))

    def _ids(self, ids: torch.Tensor, use: bool) -> torch.Tensor:
        """Row ids, all 0 (unknown) when unused; in training known ids drop to 0 with ``participant_dropout``."""
        if not use:
            return torch.zeros_like(ids)
        if self.training and self.cfg.participant_dropout > 0:
            keep = torch.rand(ids.shape, device=ids.device) >= self.cfg.participant_dropout
            return torch.where(keep, ids, torch.zeros_like(ids))
        return ids

    def forward(self, embedding: torch.Tensor, kind: torch.Tensor, position: torch.Tensor, dwell: torch.Tensor,
                order: torch.Tensor, transitions: torch.Tensor, mask: torch.Tensor, glob: torch.Tensor,
                participant: torch.Tensor, stimulus: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        b = embedding.shape[0]
        x = self.content(embedding) + self.kind(kind) + self.position(position) + region @ self.region  # [B,T,d]
        if cfg.use_gaze:
            x = x + self.dwell(dwell) + self.order(order)
        p = self.participant(self._ids(participant, cfg.use_participant))  # [B,d]
        st = self.stimulus(self._ids(stimulus, cfg.use_stimulus))  # [B,d]
        cls = self.cls.expand(b, 1, -1) + p.unsqueeze(1) + st.unsqueeze(1)  # [B,1,d]
        x = torch.cat([cls, x], dim=1)  # [B,S,d], S = T + 1
        full_mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)  # [B,S]
        pad_bias = ((1.0 - full_mask) * -1e4).view(b, 1, 1, -1)  # [B,1,1,S]
        trans = F.pad(transitions, (1, 0, 1, 0)) if cfg.use_gaze else None  # [B,S,S]
        for block in self.blocks:
            x = block(x, pad_bias, trans)
        h = [self.ln_f(x[:, 0])]  # [B,d]
        if cfg.use_gaze:
            h.append(glob)
        if cfg.use_participant:
            h.append(p)
        if cfg.use_stimulus:
            h.append(st)
        return self.head(torch.cat(h, dim=-1))  # [B,3]


class PovEnsemble(nn.Module):
    """K members trained from different seeds; logits averaged (Lakshminarayanan et al. 2017, deep ensembles)."""

    def __init__(self, cfg: ModelConfig, k: int = 1) -> None:
        super().__init__()
        self.cfg = cfg
        self.members = nn.ModuleList([PovTransformer(cfg) for _ in range(k)])

    def forward(self, embedding: torch.Tensor, kind: torch.Tensor, position: torch.Tensor, dwell: torch.Tensor,
                order: torch.Tensor, transitions: torch.Tensor, mask: torch.Tensor, glob: torch.Tensor,
                participant: torch.Tensor, stimulus: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        logits = [m(embedding, kind, position, dwell, order, transitions, mask, glob, participant, stimulus, region)
                  for m in self.members]
        return torch.stack(logits, dim=0).mean(dim=0)  # [B,3]
