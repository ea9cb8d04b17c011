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
    """Shannon entropy (nats) along the last axis, safe with -inf logits (0 log 0 = 0)."""
    logp = torch.log_softmax(logits32, dim=-1)
    return entropy_from_log_probs(logp, logp.exp())


def entropy_from_log_probs(logp: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """-sum p log p. Clamping log p (instead of entr(), which takes another log and whose
    derivative is infinite at p = 0) keeps 0 * log 0 = 0 and gradients finite."""
    return -(p * logp.clamp(min=torch.finfo(logp.dtype).min)).sum(-1)


def entropy_logit_grad(logp: torch.Tensor, entropy: torch.Tensor) -> torch.Tensor:
    """dH/dz for H = -sum p log p, p = softmax(z): -p (log p + H), from saved log-probabilities
    (rows, V) and entropies (rows,). Suppressed ids (p = 0) get 0."""
    p = logp.exp()
    return -(p * (logp.clamp(min=torch.finfo(logp.dtype).min) + entropy[:, None]))


def gumbel_argmax(logits32: torch.Tensor, temperature: float, generator) -> torch.Tensor:
    """A sample from softmax(logits / T) by the Gumbel-max trick, noise drawn in float64 so that
    low-probability tokens are not rounded away. `generator`: one torch.Generator, or a list of
    (generator, n) pairs, each drawing the noise of the next n rows (one pair per sequence)."""
    if temperature <= 0:
        return logits32.argmax(-1)
    V, kw = logits32.shape[-1], dict(dtype=torch.float64, device=logits32.device)
    if isinstance(generator, (list, tuple)):
        u = torch.cat([torch.rand((n, V), generator=g, **kw) for g, n in generator]).reshape(logits32.shape)
    else:
        u = torch.rand(logits32.shape, generator=generator, **kw)
    g = -torch.log(-torch.log(u.clamp_min(1e-300)))
    return (logits32.double() / temperature + g).argmax(-1)


@dataclass
class TokenStats:
    """Per-position statistics of one forward pass, shaped (B, N) (float32 or wider).

    Only the requested rows (the masked positions) are computed; elsewhere floats are 0 and
    proposals -1. ``log_probs`` is compact, (rows, V): use ``log_probs_at`` to index it.
    """

    log_probs: torch.Tensor  # (M, V) for the M computed rows, suppressed ids at -inf
    row_index: torch.Tensor  # (B, N) int64: row of log_probs for each position, -1 if not computed
    proposals: torch.Tensor  # (B, N) int64
    confidence: torch.Tensor  # p(proposal)
    margin: torch.Tensor  # p(top1) - p(top2)
    entropy: torch.Tensor  # nats
    topk_ids: torch.Tensor  # (B, N, k)
    topk_probs: torch.Tensor  # (B, N, k)

    def log_probs_at(self, where: torch.Tensor) -> torch.Tensor:
        """(n, V) log-probabilities of the positions in the bool mask `where` (a subset of rows)."""
        idx = self.row_index[where]
        # checked where it is free (CPU); on a GPU the check would stall the pipeline every step
        if idx.device.type == "cpu" and bool((idx < 0).any()):
            raise ValueError("log_probs_at: some positions were not computed (not masked)")
        return self.log_probs[idx]


def token_stats(logits, suppressed_ids, temperature, generator, topk=5, rows=None) -> TokenStats:
    """Statistics of `logits`: (B, N, V), or (M, V) for the positions where the (B, N) bool `rows`
    is True (cheaper: prompt and committed positions need no softmax). `generator`: one
    torch.Generator, or one per sequence (each draws its own rows' Gumbel noise)."""
    lg = suppress(logits, suppressed_ids)
    if rows is None:
        rows = torch.ones(lg.shape[:-1], dtype=torch.bool, device=lg.device)
        lg = lg.reshape(-1, lg.shape[-1])
    logp = torch.log_softmax(lg, dim=-1)
    p = logp.exp()
    k = max(2, min(topk, lg.shape[-1]))
    top_p, top_i = p.topk(k, dim=-1)
    if isinstance(generator, (list, tuple)):  # one generator per sequence: pair it with its row count
        generator = list(zip(generator, rows.sum(-1).reshape(-1).tolist()))
    prop = gumbel_argmax(lg, temperature, generator)
    conf = p.gather(-1, prop.unsqueeze(-1)).squeeze(-1)

    def scatter(values, fill):
        out = torch.full((*rows.shape, *values.shape[1:]), fill, dtype=values.dtype, device=values.device)
        out[rows] = values
        return out

    row_index = torch.full(rows.shape, -1, dtype=torch.long, device=lg.device)
    row_index[rows] = torch.arange(lg.shape[0], device=lg.device)
    return TokenStats(logp, row_index, scatter(prop, -1), scatter(conf, 0.0),
                      scatter(top_p[:, 0] - top_p[:, 1], 0.0), scatter(entropy_from_log_probs(logp, p), 0.0),
                      scatter(top_i[:, :topk], -1), scatter(top_p[:, :topk], 0.0))


def top_mask(values: torch.Tensor, allowed: torch.Tensor, k: torch.Tensor | int) -> torch.Tensor:
    """Per row, the (at most) k allowed positions with the largest values. Ties break by position."""
    v = torch.where(allowed, values.double(), torch.full_like(values, float("-inf"), dtype=torch.float64))
    order = torch.sort(v, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(v.shape[1], device=v.device).expand_as(order).contiguous())
    k = torch.as_tensor(k, device=v.device).reshape(-1, 1)
    return (rank < k) & allowed
