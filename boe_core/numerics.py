"""Numerically careful building blocks: float32 softmax/entropy, float64 Gumbel noise."""
from __future__ import annotations

from dataclasses import dataclass

import torch


def suppress(logits: torch.Tensor, ids) -> torch.Tensor:
    """Logits upcast to at least float32, with the given vocabulary ids set to -inf (never proposed)."""
    out = logits.to(torch.promote_types(logits.dtype, torch.float32)).clone()
    if ids:
        out[..., list(ids)] = float("-inf")
    return out


def entropy_from_logits(logits32: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) along the last axis, float32, safe with -inf logits."""
    logp = torch.log_softmax(logits32, dim=-1)
    p = logp.exp()
    return -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(-1)


def gumbel_argmax(logits32: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """A sample from softmax(logits / T) by the Gumbel-max trick, noise drawn in float64 so that
    low-probability tokens are not rounded away."""
    if temperature <= 0:
        return logits32.argmax(-1)
    u = torch.rand(logits32.shape, generator=generator, dtype=torch.float64, device=logits32.device)
    g = -torch.log(-torch.log(u.clamp_min(1e-300)))
    return (logits32.double() / temperature + g).argmax(-1)


@dataclass
class TokenStats:
    """Per-position statistics of one forward pass (all float32, shape (B, N) unless noted)."""

    logits: torch.Tensor  # (B, N, V) float32 with suppressed ids at -inf
    log_probs: torch.Tensor  # (B, N, V)
    proposals: torch.Tensor  # (B, N) int64
    confidence: torch.Tensor  # p(proposal)
    margin: torch.Tensor  # p(top1) - p(top2)
    entropy: torch.Tensor
    topk_ids: torch.Tensor  # (B, N, k)
    topk_probs: torch.Tensor  # (B, N, k)


def token_stats(logits, suppressed_ids, temperature, generator, topk=5) -> TokenStats:
    lg = suppress(logits, suppressed_ids)
    logp = torch.log_softmax(lg, dim=-1)
    p = logp.exp()
    ent = -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(-1)
    k = max(2, min(topk, lg.shape[-1]))
    top_p, top_i = p.topk(k, dim=-1)
    proposals = gumbel_argmax(lg, temperature, generator)
    conf = p.gather(-1, proposals.unsqueeze(-1)).squeeze(-1)
    return TokenStats(lg, logp, proposals, conf, top_p[..., 0] - top_p[..., 1], ent,
                      top_i[..., :topk], top_p[..., :topk])
