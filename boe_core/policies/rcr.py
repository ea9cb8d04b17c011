"""RCR, running-confidence remasking (MDPO: He et al. 2025, "MDPO: Overcoming the Training-Inference
Divide of Masked Diffusion Language Models", arXiv:2508.13148): every decoded token keeps the
confidence it had when it was committed; at each step those tokens compete with the new
proposals, the top (decoded + b) of them by confidence stand, and the decoded tokens that fall
out go back to [MASK]. The number of masks still follows the schedule (b fewer per step); only
which tokens stand changes. Inside the current block (blocks hold).
"""
from __future__ import annotations

import torch

from ..numerics import top_mask
from .base import Policy, PolicyResult, StepContext, masked_scores, no_fallback, register
from .revision import revisable


def rcr_step(ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor]:
    """(commit, remask): the top (decoded + b) of the block by running confidence (a proposal's
    confidence now, a decoded token's at its commit) stand."""
    pool = revisable(ctx)
    held = torch.nan_to_num(ctx.commit_confidence.double(), nan=float("inf"))  # unknown: always stands
    key = torch.where(ctx.eligible, ctx.stats.confidence.double(), held)
    stand = top_mask(key, ctx.eligible | pool, pool.sum(1) + ctx.b)
    return stand & ctx.eligible, pool & ~stand


class RCRPolicy(Policy):
    name = "rcr"
    description = "RCR (MDPO): decoded tokens keep their commit confidence; the lowest fall back to [MASK]"
    order = 41

    def presets(self):
        return {"RCR (running-confidence remasking)": {}}

    def score(self, ctx):
        commit, remask = rcr_step(ctx)
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), no_fallback(ctx),
                            commit=commit, remask=remask)


register(RCRPolicy())
