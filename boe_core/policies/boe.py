"""Backward-on-Entropy steering: rank candidates by the Token Influence Score

    TIS_i = -<dF/de_i, e~_i - e_[MASK]>,   F = sum_{j in probes} H(pi_j),

a first-order estimate of how much revealing i lowers the entropy of the positions that stay
masked. One backward pass scores every candidate at once.
"""
from __future__ import annotations

import torch

from .base import StepContext
from .objective import probe_entropy, soft_embeddings
from .selection import EntropyDropPolicy


def aqa_rows(adapter, cfg, rows: torch.Tensor, fraction: float | None = None):
    """The active row set for ActiveQueryAttention, or None for a dense backward (AQA off, not
    supported by the model, or too many active rows for the sparse backward to pay off).
    `fraction` (active rows / all rows) may be given when known on the host, to skip a sync."""
    if not (cfg.use_aqa and adapter.supports_active_rows):
        return None
    if fraction is None:
        fraction = float(rows.float().mean())
    if fraction > cfg.aqa_max_active:
        return None
    return rows


def entropy_gradient(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
    """g = dF/de at the linearisation point: (g (B, N, d), soft embeddings of the candidates (|C|, d),
    forwards used beyond the step's main one)."""
    adapter, cfg = ctx.adapter, ctx.cfg
    soft = soft_embeddings(adapter, ctx.stats.log_probs_at(cand), cfg.tau_s)
    extra = 0
    with torch.enable_grad():
        if cfg.linearize_at == "current":
            if ctx.graph is None:
                raise RuntimeError("linearize_at='current' needs the step's grad-enabled forward")
            e, h = ctx.graph
        else:  # "surrogate": linearise at the canvas with candidates softly written in
            base = adapter.embed(ctx.ids).detach().clone()
            base[cand] = soft.to(base.dtype)
            e = base.requires_grad_(True)
            h = adapter.hidden(e, ctx.attention_mask, aqa_rows(adapter, cfg, cand | probe))
            extra = 1
        F = probe_entropy(adapter, h, probe).sum()
        (g,) = torch.autograd.grad(F, e)
    return g, soft, extra


def token_influence(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
    """(TIS (B, N) at candidates, NaN elsewhere; ||g|| (B, N); extra forwards)."""
    g, soft, extra = entropy_gradient(ctx, cand, probe)
    acc = torch.promote_types(g.dtype, torch.float32)  # bf16 models: reduce in float32
    g = g.to(acc)
    delta_e = soft.to(acc) - ctx.adapter.embedding_matrix()[ctx.adapter.mask_id].to(acc)
    tis = torch.full(ctx.ids.shape, float("nan"), dtype=acc, device=g.device)
    tis[cand] = -(g[cand] * delta_e).sum(-1)
    return tis, g.norm(dim=-1), extra


class BoEPolicy(EntropyDropPolicy):
    name = "boe"
    description = "Backward-on-Entropy: candidates ranked by the gradient-estimated future entropy drop"

    def grad_forward(self, cfg):
        return cfg.linearize_at == "current"

    def entropy_drop(self, ctx, cand, probe):
        tis, gnorm, extra = token_influence(ctx, cand, probe)
        return tis, dict(tis=tis, grad_norm=gnorm, extra_forwards=extra, backwards=1)
