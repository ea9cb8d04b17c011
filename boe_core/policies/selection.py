"""Candidates, probes and the selection score shared by BoE and lookahead search."""
from __future__ import annotations

import math

import torch

from .base import Policy, PolicyResult, StepContext


def num_candidates(ctx: StepContext) -> int:
    if ctx.cfg.r is not None:
        return ctx.cfg.r
    b_max = ctx.b_max if ctx.b_max is not None else int(ctx.b.max())
    return max(8, 4 * b_max)


def top_mask(values: torch.Tensor, allowed: torch.Tensor, k: torch.Tensor | int) -> torch.Tensor:
    """Per row, the (at most) k allowed positions with the largest values. Ties break by position."""
    v = torch.where(allowed, values.double(), torch.full_like(values, float("-inf"), dtype=torch.float64))
    order = torch.sort(v, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(v.shape[1], device=v.device).expand_as(order).contiguous())
    k = torch.as_tensor(k, device=v.device).reshape(-1, 1)
    return (rank < k) & allowed


def candidates(ctx: StepContext) -> torch.Tensor:
    """C_t: the top-r eligible positions by confidence."""
    return top_mask(ctx.stats.confidence, ctx.eligible, num_candidates(ctx))


def probes(ctx: StepContext, cand: torch.Tensor) -> torch.Tensor:
    """P_t: masked non-candidates (canvas- or block-wide); with rho < 1 the ceil(rho*|M|) of them
    with the highest entropy."""
    scope = ctx.masked if ctx.cfg.probe_scope == "canvas" else ctx.eligible
    pool = scope & ~cand
    if ctx.cfg.rho >= 1:
        return pool
    keep = torch.ceil(ctx.cfg.rho * scope.sum(1).double()).long()
    return top_mask(ctx.stats.entropy, pool, keep)


def fallback_rows(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor) -> torch.Tensor:
    """Rows where steering is meaningless: no more candidates than commits, or nothing to probe."""
    return (cand.sum(1) <= ctx.b) | (probe.sum(1) == 0)


def minmax(values: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Per-row min-max normalisation over `where`; a row with a single value (or all equal) maps to 1
    so that the confidence term alone decides."""
    v = values.double()
    big = torch.full_like(v, math.inf)
    lo = torch.where(where, v, big).amin(1, keepdim=True)
    hi = torch.where(where, v, -big).amax(1, keepdim=True)
    span = hi - lo
    out = torch.where(span > 0, (v - lo) / span.clamp_min(1e-300), torch.ones_like(v))
    return torch.where(where, out, torch.zeros_like(v))


def selection_score(ctx: StepContext, signal: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """s_i = c_i^gamma * minmax_C(signal_i) - lam * [h_t - H_i]_+^2 on candidates, -inf elsewhere."""
    cfg = ctx.cfg
    conf = ctx.stats.confidence.double()
    floor = cfg.h_max * ctx.t / ctx.T
    penalty = torch.clamp(floor - ctx.stats.entropy.double(), min=0) ** 2
    s = conf.pow(cfg.gamma) * minmax(signal, cand) - cfg.lam * penalty
    return torch.where(cand, s, torch.full_like(s, float("-inf")))


def with_fallback(ctx: StepContext, scores: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    conf = torch.where(ctx.eligible, ctx.stats.confidence.double(),
                       torch.full_like(scores, float("-inf")))
    return torch.where(fallback[:, None], conf, scores)


class EntropyDropPolicy(Policy):
    """BoE and lookahead share everything but the estimate of each candidate's entropy drop:
    candidates, probes, the confidence fallback and the selection score."""

    def entropy_drop(self, ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
        """(drop estimate (B, N), NaN off candidates; extra PolicyResult fields)."""
        raise NotImplementedError

    def score(self, ctx: StepContext) -> PolicyResult:
        cand = candidates(ctx)
        probe = probes(ctx, cand)
        fb = fallback_rows(ctx, cand, probe)
        if bool(fb.all()):
            return PolicyResult(with_fallback(ctx, ctx.stats.confidence.double(), fb), fb, cand, probe)
        drop, extra = self.entropy_drop(ctx, cand, probe)
        s = selection_score(ctx, torch.nan_to_num(drop.double(), nan=0.0), cand)
        return PolicyResult(with_fallback(ctx, s, fb), fb, cand, probe, **extra)
