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


def row_context(ctx, i: int, cols: torch.Tensor, generator: torch.Generator):
    """The step context of row i alone, over its unpadded columns, drawing from `generator`."""
    def cut(x):
        return None if x is None else x[i:i + 1, cols]

    return replace(ctx, ids=cut(ctx.ids), attention_mask=None, masked=cut(ctx.masked), eligible=cut(ctx.eligible),
                   b=ctx.b[i:i + 1], stats=_row_stats(ctx.stats, i, cols), generator=generator, graph=None,
                   confidence_pick=cut(ctx.confidence_pick), fixed=cut(ctx.fixed),
                   commit_confidence=cut(ctx.commit_confidence), remasks=cut(ctx.remasks),
                   block_span=_cut_span(ctx.block_span, cols))


def _cut_span(span, cols: torch.Tensor):
    """A [start, end) canvas span as indices into the row's columns `cols` (in order)."""
    if span is None:
        return None
    inside = torch.nonzero((cols >= span[0]) & (cols < span[1])).flatten()
    if inside.numel() == 0:
        return (0, 0)
    return int(inside[0]), int(inside[-1]) + 1


def score_per_row(policy, ctx, seed: int, step: int):
    """Score each row on its own, with its own stream, and reassemble the batch's PolicyResult.
    For policies whose scores draw random numbers; rows never share a graph here (ctx.graph is
    dropped), so a policy that needs one must not draw from ctx.generator."""
    from .policies.base import PolicyResult

    B, N = ctx.ids.shape
    cols = row_columns(ctx.ids, ctx.attention_mask)
    gens = row_generators(seed, step, ctx.ids, cols, POLICY)
    parts = [policy.score(row_context(ctx, i, c, g)) for i, (c, g) in enumerate(zip(cols, gens))]
    scores = torch.full((B, N), float("-inf"), dtype=torch.float64, device=ctx.ids.device)
    signals = {}
    for i, (c, p) in enumerate(zip(cols, parts)):
        scores[i, c] = p.scores[0].to(scores.dtype)
        for name, v in p.signals.items():
            if name not in signals:
                signals[name] = torch.zeros((B, N, *v.shape[2:]), dtype=v.dtype, device=v.device)
            signals[name][i, c] = v[0]
    def masks(name):  # a policy's own commits / remasks, when it gives them
        if all(getattr(p, name) is None for p in parts):
            return None
        out = torch.zeros((B, N), dtype=torch.bool, device=ctx.ids.device)
        for i, (c, p) in enumerate(zip(cols, parts)):
            if getattr(p, name) is not None:
                out[i, c] = getattr(p, name)[0].to(torch.bool)
        return out

    return PolicyResult(scores, torch.cat([p.fallback for p in parts]), signals,
                        max(p.extra_forwards for p in parts), max(p.backwards for p in parts),
                        list(dict.fromkeys(n for p in parts for n in p.notes)), masks("commit"), masks("remask"))
