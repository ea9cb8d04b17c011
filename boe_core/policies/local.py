"""Local-certainty policies: one forward, score each masked position on its own."""
from __future__ import annotations

import torch

from .base import Policy, PolicyResult, StepContext, masked_scores, no_fallback


class RandomPolicy(Policy):
    name = "random"
    description = "uniformly random order"

    def score(self, ctx: StepContext) -> PolicyResult:
        u = torch.rand(ctx.ids.shape, generator=ctx.generator, dtype=torch.float64, device=ctx.ids.device)
        return PolicyResult(masked_scores(u, ctx.eligible), no_fallback(ctx))


class ConfidencePolicy(Policy):
    name = "confidence"
    description = "highest probability of the proposed token first"

    def score(self, ctx):
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), no_fallback(ctx))


class MarginPolicy(Policy):
    name = "margin"
    description = "largest gap between the top two probabilities first"

    def score(self, ctx):
        return PolicyResult(masked_scores(ctx.stats.margin, ctx.eligible), no_fallback(ctx))


class EntropyPolicy(Policy):
    name = "entropy"
    description = "lowest predictive entropy first"

    def score(self, ctx):
        return PolicyResult(masked_scores(-ctx.stats.entropy, ctx.eligible), no_fallback(ctx))
