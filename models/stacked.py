"""The ensemble with its members stacked: the same logits as :class:`~models.model.PovEnsemble` in eval mode, in
a fraction of the ONNX nodes. Used only for export (``models/export.py``); training keeps ``PovEnsemble``.

An ensemble of K small members exported as it is written runs each member's graph one after the other: the
bundled model (5 members, 1 layer, ``d_model`` 32) became 359 ONNX nodes, and at these sizes ONNX Runtime's cost
is the number of nodes it runs and the bytes they touch, not the arithmetic. Here the members' weights are stacked
along a member axis and all members run in one pass: the per-token projections and embedding tables of all members
side by side (one MatMul / Gather for all), then the transformer with the member axis as an extra batch axis
(``x`` is ``[B, K, S, d]``), so each operation is one node for all members.

Rewrites that change no number (up to float32 rounding):

- the biases of the content and dwell projections are added to the kind table (every token takes one kind row);
  ``1 / sqrt(d_head)`` is multiplied into the query weights; each LayerNorm's scale and shift are folded into the
  projection after it (computed in float64); GELU is written in the order ONNX Runtime fuses into one node;
- the model's output reads only the [CLS] row of the last block, so the last block computes attention, residual
  and MLP for that row alone; the transition bias of [CLS]'s row is zero by construction (``transitions`` is
  padded with a zero row and column for [CLS]), so the last block needs no transition term;
- a term whose weights are all exactly zero is left out (the region projection of a model trained without images;
  the transition scales of a block whose ``gaze_scale`` is zero): it adds exactly 0 to finite inputs (the
  predictor and ``batch_inputs`` only give finite ones).

The graph keeps all of ``INPUT_NAMES`` as inputs, used or not, so the app checks and feeds every model the same way.
Eval mode only: no dropout, and known participant / stimulus ids are used as they are (``PovTransformer._ids``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from models.model import PovEnsemble, PovTransformer

Get = Callable[[PovTransformer], torch.Tensor]


def _fold_ln(w: torch.Tensor, b: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
             ) -> tuple[nn.Parameter, nn.Parameter]:
    """A LayerNorm's scale ``w`` and shift ``b`` [K, d] moved into the projection after it (``weight`` [K, d, out],
    ``bias`` [K, out]): (n * w + b) @ W + c = n @ (w[:, None] * W) + (b @ W + c). Computed in float64."""
    w64, b64, p64 = w.double(), b.double(), weight.double()
    folded_w = (w64.unsqueeze(-1) * p64).float()
    folded_b = (torch.einsum("kd,kdo->ko", b64, p64) + bias.double()).float().unsqueeze(1)  # [K, 1, out]
    return nn.Parameter(folded_w, requires_grad=False), nn.Parameter(folded_b, requires_grad=False)


def _gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU as ``F.gelu``, written in the order ONNX Runtime's GELU fusion recognises (one node)."""
    return x * (torch.erf(x / math.sqrt(2.0)) + 1.0) * 0.5


class StackedEnsemble(nn.Module):
    """``PovEnsemble`` (eval mode) with its members' weights stacked; same inputs, same ``logits`` [B, n_classes]."""

    def __init__(self, ensemble: PovEnsemble) -> None:
        super().__init__()
        members = list(ensemble.members)
        cfg = ensemble.cfg
        self.cfg = cfg
        self.k = len(members)
        self.h, self.dh = cfg.n_heads, cfg.d_model // cfg.n_heads

        def side(get: Get) -> nn.Parameter:  # [..., K*d]: member k in columns k*d .. k*d+d-1
            return nn.Parameter(torch.cat([get(m).detach() for m in members], dim=-1).clone(), requires_grad=False)

        def stack(get: Get, *shape: int) -> nn.Parameter:  # [K, ...] (reshaped to [K, *shape] when given)
            t = torch.stack([get(m).detach() for m in members], dim=0).clone()
            return nn.Parameter(t.reshape(self.k, *shape) if shape else t, requires_grad=False)

        bias = side(lambda m: m.content[1].bias) + (side(lambda m: m.dwell.bias) if cfg.use_gaze else 0.0)
        self.content_w = side(lambda m: m.content[1].weight.t())  # [E, K*d]
        self.kind_t = nn.Parameter(side(lambda m: m.kind.weight) + bias, requires_grad=False)  # [2, K*d]
        self.position_t = side(lambda m: m.position.weight)
        self.use_region = any(bool(m.region.detach().ne(0).any()) for m in members)
        self.region_w = side(lambda m: m.region)  # [R, K*d]
        self.dwell_w = side(lambda m: m.dwell.weight.t())
        self.order_t = side(lambda m: m.order.weight)
        self.participant_t = nn.Parameter(stack(lambda m: m.participant.weight).transpose(0, 1)[:, :, None].contiguous(),
                                          requires_grad=False)  # [n, K, 1, d]
        self.stimulus_t = nn.Parameter(stack(lambda m: m.stimulus.weight).transpose(0, 1)[:, :, None].contiguous(),
                                       requires_grad=False)  # [n, K, 1, d]
        self.cls = stack(lambda m: m.cls[0, 0], 1, cfg.d_model)  # [K, 1, d]
        d, scale = cfg.d_model, 1.0 / math.sqrt(self.dh)
        qkv_scale = torch.cat([torch.full((d,), scale), torch.ones(2 * d)])  # queries pre-scaled
        self.layers = nn.ModuleList()
        self.gaze = []  # per layer: the transition term is computed
        for i in range(cfg.n_layers):
            def blk(m: PovTransformer, i: int = i) -> nn.Module:
                return m.blocks[i]
            last = i == cfg.n_layers - 1
            gaze = cfg.use_gaze and not last and \
                any(bool(blk(m).attn.gaze_scale.detach().ne(0).any()) for m in members)
            self.gaze.append(gaze)
            qkv_w, qkv_b = _fold_ln(stack(lambda m: blk(m).ln1.weight), stack(lambda m: blk(m).ln1.bias),
                                    stack(lambda m: blk(m).attn.qkv.weight.t() * qkv_scale),
                                    stack(lambda m: blk(m).attn.qkv.bias * qkv_scale))
            fc1_w, fc1_b = _fold_ln(stack(lambda m: blk(m).ln2.weight), stack(lambda m: blk(m).ln2.bias),
                                    stack(lambda m: blk(m).mlp[0].weight.t()), stack(lambda m: blk(m).mlp[0].bias))
            self.layers.append(nn.ParameterDict({
                "qkv_w": qkv_w, "qkv_b": qkv_b,  # [K, d, 3d], [K, 1, 3d]
                "out_w": stack(lambda m: blk(m).attn.out.weight.t()), "out_b": stack(lambda m: blk(m).attn.out.bias, 1, d),
                "gaze_f": stack(lambda m: blk(m).attn.gaze_scale[:, 0], self.h, 1, 1),  # [K, H, 1, 1]
                "gaze_b": stack(lambda m: blk(m).attn.gaze_scale[:, 1], self.h, 1, 1),
                "fc1_w": fc1_w, "fc1_b": fc1_b,
                "fc2_w": stack(lambda m: blk(m).mlp[2].weight.t()), "fc2_b": stack(lambda m: blk(m).mlp[2].bias, 1, d),
            }))
        head1_w = stack(lambda m: m.head[0].weight.t())  # [K, head_in, d]: rows 0..d-1 read ln_f's output
        lnf_part, lnf_b = _fold_ln(stack(lambda m: m.ln_f.weight), stack(lambda m: m.ln_f.bias), head1_w[:, :d],
                                   stack(lambda m: m.head[0].bias))
        self.head1_w = nn.Parameter(torch.cat([lnf_part.detach(), head1_w[:, d:]], dim=1), requires_grad=False)
        self.head1_b = lnf_b  # [K, 1, d]
        self.head2_w = stack(lambda m: m.head[3].weight.t())  # [K, d, n_classes]
        self.head2_b = stack(lambda m: m.head[3].bias, 1, cfg.n_classes)
        self.eval()

    @staticmethod
    def _ln(x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], eps=1e-5)  # its scale and shift are in the next projection

    def forward(self, embedding: torch.Tensor, kind: torch.Tensor, position: torch.Tensor, dwell: torch.Tensor,
                order: torch.Tensor, transitions: torch.Tensor, mask: torch.Tensor, glob: torch.Tensor,
                participant: torch.Tensor, stimulus: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        cfg, k, d, h, dh = self.cfg, self.k, self.cfg.d_model, self.h, self.dh
        x = embedding @ self.content_w + F.embedding(kind, self.kind_t) + F.embedding(position, self.position_t)
        if self.use_region:
            x = x + region @ self.region_w
        if cfg.use_gaze:
            x = x + dwell @ self.dwell_w + F.embedding(order, self.order_t)
        x = x.unflatten(-1, (k, d)).transpose(1, 2)  # [B, T, K*d] -> [B, K, T, d]
        pid = participant if cfg.use_participant else torch.zeros_like(participant)
        sid = stimulus if cfg.use_stimulus else torch.zeros_like(stimulus)
        pe, se = self.participant_t.index_select(0, pid), self.stimulus_t.index_select(0, sid)  # [B, K, 1, d]
        x = torch.cat([self.cls + pe + se, x], dim=2)  # [B, K, S, d], S = T + 1
        pad_bias = ((1.0 - F.pad(mask, (1, 0), value=1.0)) * -1e4)[:, None, None, None, :]  # [B, 1, 1, 1, S]
        trans = F.pad(transitions, (1, 0, 1, 0))[:, None, None] if any(self.gaze) else None  # [B, 1, 1, S, S]
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            hx = self._ln(x)
            qkv = (hx @ layer["qkv_w"] + layer["qkv_b"]).unflatten(-1, (3 * h, dh)).transpose(2, 3)  # [B,K,3H,S,dh]
            q, kk, v = qkv.split(h, dim=2)  # each [B, K, H, S, dh]
            if last:
                q = q[:, :, :, :1]  # only [CLS] is read from the last block
                x = x[:, :, :1]
            scores = q @ kk.transpose(-1, -2) + pad_bias  # [B, K, H, S or 1, S]
            if self.gaze[i]:
                scores = scores + layer["gaze_f"] * trans + layer["gaze_b"] * trans.transpose(-1, -2)
            y = (torch.softmax(scores, dim=-1) @ v).transpose(2, 3).flatten(-2)  # [B, K, S or 1, d]
            x = x + (y @ layer["out_w"] + layer["out_b"])
            x = x + (_gelu(self._ln(x) @ layer["fc1_w"] + layer["fc1_b"]) @ layer["fc2_w"] + layer["fc2_b"])
        parts = [self._ln(x)]  # [B, K, 1, d]: the last block kept only [CLS]
        if cfg.use_gaze:
            parts.append(glob[:, None, None, :].expand(-1, k, 1, -1))
        if cfg.use_participant:
            parts.append(pe)
        if cfg.use_stimulus:
            parts.append(se)
        z = _gelu(torch.cat(parts, dim=-1) @ self.head1_w + self.head1_b)  # [B, K, 1, d]
        logits = z @ self.head2_w + self.head2_b  # [B, K, 1, n_classes]
        return logits.mean(dim=1).squeeze(1)  # [B, n_classes]
