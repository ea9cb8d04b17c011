"""Confidence threshold (Fast-dLLM; Wu et al. 2025, arXiv:2505.22618): commit every eligible
position whose confidence clears τ, and at least the most confident one.

The count adapts to the canvas: many tokens per forward where the model is sure, one where it is
not. Its budget knob is τ (the step budget only caps the forwards).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from .base import Policy, PolicyResult, StepContext, masked_scores, register
from .commits import count_note, fallback_note, fmt, with_top1


@dataclass
class ThresholdSettings:
    tau: float = knob(0.9, "τ · confidence threshold", "commit every eligible token whose confidence is at "
                      "least τ (and always the most confident one)", range=(0.0, 1.0), step=0.01, group="threshold")

    def validate(self):
        if not finite(self.tau) or not (0 <= self.tau <= 1):
            raise ConfigError("tau", self.tau, "must be in [0, 1]")
        return self


def threshold_commit(confidence: torch.Tensor, eligible: torch.Tensor, tau: float):
    """(commit (B, N) bool, cleared (B,) counts, rows that fell back to their top-1)."""
    cleared = eligible & (confidence >= tau)
    commit, fell_back = with_top1(cleared, eligible, confidence)
    return commit, cleared.sum(1), fell_back


class ThresholdPolicy(Policy):
    name = "threshold"
    description = "Fast-dLLM: commit every token whose confidence clears τ (at least one)"
    settings_cls = ThresholdSettings
    order = 30

    def presets(self):
        return {"threshold (Fast-dLLM, τ=0.9)": {}, "threshold · strict (τ=0.99)": {"tau": 0.99}}

    def score(self, ctx: StepContext) -> PolicyResult:
        tau = ctx.settings.tau
        commit, cleared, fell_back = threshold_commit(ctx.stats.confidence, ctx.eligible, tau)
        notes = [count_note(cleared, f"cleared τ = {fmt(tau)}", ctx.eligible.any(1))] + fallback_note(fell_back, f"none cleared τ = {fmt(tau)}")
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), fell_back, notes=notes, commit=commit)


register(ThresholdPolicy())
