"""Per-example random streams: what a row draws depends on its own canvas, never on its batch.

One generator per step for the whole batch hands row i the i-th slice of one stream, so a
problem's draws (a random order, Gumbel proposals) change with its place in the batch, the batch
size and the left padding. Instead each row gets its own generator, seeded from (seed, step, the
row's own unpadded tokens), and draws only over its own positions. Two identical rows draw the
same numbers, as the same problem decoded alone twice would.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import torch

from .numerics import TokenStats

PROPOSALS, POLICY = "proposals", "policy"  # separate streams for the two uses within one step


def row_seed(seed: int, step: int, tokens: np.ndarray, purpose: str) -> int:
    """A 63-bit seed from the decode seed, the step, the row's unpadded tokens and the use."""
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{seed}|{step}|{purpose}|".encode())
    h.update(np.ascontiguousarray(tokens, dtype=np.int64).tobytes())
    return int.from_bytes(h.digest(), "little") & (2**63 - 1)


def row_columns(canvas: torch.Tensor, attention_mask: torch.Tensor | None) -> list[torch.Tensor]:
    """Per row, the columns that are not padding (in order)."""
    B, N = canvas.shape
    if attention_mask is None:
        cols = torch.arange(N, device=canvas.device)
        return [cols] * B
    return [torch.nonzero(attention_mask[i]).flatten() for i in range(B)]


def row_generators(seed: int, step: int, canvas: torch.Tensor, cols: list[torch.Tensor],
                   purpose: str) -> list[torch.Generator]:
    host = canvas.cpu()
    return [torch.Generator(device=canvas.device).manual_seed(
                row_seed(seed, step, host[i, c.cpu()].numpy(), purpose)) for i, c in enumerate(cols)]


def _row_stats(stats: TokenStats, i: int, cols: torch.Tensor) -> TokenStats:
    ri = stats.row_index[i, cols]
    have = ri >= 0
    row_index = torch.full_like(ri, -1)
    row_index[have] = torch.arange(int(have.sum()), device=ri.device)

    def cut(x):
        return x[i:i + 1, cols]

    return TokenStats(stats.log_probs[ri[have]], row_index[None], cut(stats.proposals), cut(stats.confidence),
                      cut(stats.margin), cut(stats.entropy), cut(stats.topk_ids), cut(stats.topk_probs))


def _span(span, cols: torch.Tensor):
    """A [start, end) column span of the batch canvas, in the row's own (unpadded) columns."""
    if span is None:
        return None
    c = cols.cpu()
    return int(torch.searchsorted(c, span[0])), int(torch.searchsorted(c, span[1]))


def row_context(ctx, i: int, cols: torch.Tensor, generator: torch.Generator):
    """The step context of row i alone, over its unpadded columns, drawing from `generator`."""
    def cut(x):
        return None if x is None else x[i:i + 1, cols]

    return replace(ctx, ids=cut(ctx.ids), attention_mask=None, masked=cut(ctx.masked), eligible=cut(ctx.eligible),
                   b=ctx.b[i:i + 1], stats=_row_stats(ctx.stats, i, cols), generator=generator, graph=None,
                   confidence_pick=cut(ctx.confidence_pick), fixed=cut(getattr(ctx, "fixed", None)),
                   commit_confidence=cut(getattr(ctx, "commit_confidence", None)),
                   remasks=cut(getattr(ctx, "remasks", None)), block_span=_span(getattr(ctx, "block_span", None), cols))


def _fill(dtype):
    return False if dtype == torch.bool else (float("nan") if dtype.is_floating_point else 0)


def _scatter(parts, cols, shape, device):
    """Row parts (1, n_i, ...) back into one (B, N, ...) tensor; padding gets NaN / False / 0."""
    first = next(p for p in parts if p is not None)
    out = torch.full((*shape, *first.shape[2:]), _fill(first.dtype), dtype=first.dtype, device=device)
    for i, (c, p) in enumerate(zip(cols, parts)):
        if p is not None:
            out[i, c] = p[0]
    return out


def score_per_row(policy, ctx, seed: int, step: int):
    """Score each row on its own, with its own stream, and reassemble the batch's PolicyResult.
    For policies whose scores draw random numbers; rows never share a graph here (ctx.graph is
    dropped), so a policy that needs one must not draw from ctx.generator."""
    from .policies.base import PolicyResult

    B, N = ctx.ids.shape
    dev = ctx.ids.device
    cols = row_columns(ctx.ids, ctx.attention_mask)
    gens = row_generators(seed, step, ctx.ids, cols, POLICY)
    parts = [policy.score(row_context(ctx, i, c, g)) for i, (c, g) in enumerate(zip(cols, gens))]
    scores = _scatter([p.scores.to(torch.float64) for p in parts], cols, (B, N), dev)
    scores = scores.masked_fill(scores.isnan(), float("-inf"))  # padding is never selectable
    names = list(dict.fromkeys(n for p in parts for n in p.signals))
    signals = {n: _scatter([p.signals.get(n) for p in parts], cols, (B, N), dev) for n in names}
    res = PolicyResult(scores, torch.cat([p.fallback for p in parts]), signals,
                       max(p.extra_forwards for p in parts), max(p.backwards for p in parts),
                       list(dict.fromkeys(n for p in parts for n in p.notes)))
    for field in ("commit", "remask"):  # optional (B, N) bool outputs of revising policies
        got = [getattr(p, field, None) for p in parts]
        if any(g is not None for g in got):
            setattr(res, field, _scatter(got, cols, (B, N), dev))
    if any(p.tokens is not None for p in parts):  # a row without its own tokens takes its proposals
        got = [p.tokens if p.tokens is not None else ctx.stats.proposals[i:i + 1, c]
               for i, (p, c) in enumerate(zip(parts, cols))]
        res.tokens = _scatter(got, cols, (B, N), dev)
    return res
