"""Local-certainty policies: one forward, score each masked position on its own."""
from __future__ import annotations

import torch

from .base import Policy, PolicyResult, StepContext, masked_scores, no_fallback, register


class RandomPolicy(Policy):
    name = "random"
    order = 13
    description = "uniformly random order"

    def score(self, ctx: StepContext) -> PolicyResult:
        u = torch.rand(ctx.ids.shape, generator=ctx.generator, dtype=torch.float64, device=ctx.ids.device)
        return PolicyResult(masked_scores(u, ctx.eligible), no_fallback(ctx))


class ConfidencePolicy(Policy):
    name = "confidence"
    order = 10
    description = "highest probability of the proposed token first"

    def score(self, ctx):
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), no_fallback(ctx))


class MarginPolicy(Policy):
    name = "margin"
    order = 11
    description = "largest gap between the top two probabilities first"

    def score(self, ctx):
        return PolicyResult(masked_scores(ctx.stats.margin, ctx.eligible), no_fallback(ctx))


class EntropyPolicy(Policy):
    name = "entropy"
    order = 12
    description = "lowest predictive entropy first"

    def score(self, ctx):
        return PolicyResult(masked_scores(-ctx.stats.entropy, ctx.eligible), no_fallback(ctx))


for _p in (ConfidencePolicy(), MarginPolicy(), EntropyPolicy(), RandomPolicy()):
    register(_p)
