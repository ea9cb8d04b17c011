"""Entropy-bounded unmasking (EB-Sampler; Ben-Hamu et al. 2025, arXiv:2505.24857).

Sort the eligible positions by entropy, lowest first, and commit the longest prefix U with

    sum_{i in U} H_i  -  max_{i in U} H_i  <=  γ,

so at least one position is always committed. The left side bounds the error of committing U in
parallel instead of one at a time (the joint's total correlation is at most sum H - max H).
γ (`gamma_eb`; BoE's `gamma` is its gate exponent) is the budget knob: 0 commits only positions that are certain (H = 0) beyond the first.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from .base import Policy, PolicyResult, StepContext, masked_scores, register
from .commits import count_note, fmt


@dataclass
class EBSettings:
    gamma_eb: float = knob(0.1, "γ_EB · entropy budget (nats)", "commit the lowest-entropy tokens while their summed "
                        "entropy minus the largest stays within γ", range=(0.0, 10.0), step=0.01, group="budget")

    def validate(self):
        if not finite(self.gamma_eb) or self.gamma_eb < 0:
            raise ConfigError("gamma_eb", self.gamma_eb, "must be a finite number >= 0")
        return self


def entropy_bounded_commit(entropy: torch.Tensor, eligible: torch.Tensor, gamma: float):
    """(commit (B, N) bool, the bound's left side sum H - max H of each row's committed set (B,))."""
    h = torch.where(eligible, entropy.double(), torch.full_like(entropy, float("inf"), dtype=torch.float64))
    order = torch.sort(h, dim=1, stable=True).indices  # lowest entropy first; ties by position
    hs = h.gather(1, order)
    ok_sorted = eligible.gather(1, order)
    finite_h = torch.where(ok_sorted, hs, torch.zeros_like(hs))
    spent = torch.cumsum(finite_h, 1) - torch.cummax(finite_h, 1).values  # non-decreasing along the prefix
    k = ((spent <= gamma) & ok_sorted).sum(1).clamp(min=1)
    k = torch.minimum(k, eligible.sum(1))
    take_sorted = torch.arange(h.shape[1], device=h.device)[None, :] < k[:, None]
    commit = torch.zeros_like(eligible).scatter(1, order, take_sorted) & eligible
    used = spent.gather(1, (k - 1).clamp(min=0)[:, None]).squeeze(1)
    return commit, torch.where(k > 0, used, torch.zeros_like(used))


class EBPolicy(Policy):
    name = "eb"
    description = "EB-Sampler: commit the lowest-entropy tokens while sum H − max H stays within γ"
    settings_cls = EBSettings
    order = 31

    def presets(self):
        return {"EB-Sampler (γ=0.1)": {}, "EB-Sampler · loose (γ=1)": {"gamma_eb": 1.0}}

    def score(self, ctx: StepContext) -> PolicyResult:
        g = ctx.settings.gamma_eb
        commit, used = entropy_bounded_commit(ctx.stats.entropy, ctx.eligible, g)
        why = f"fit the entropy budget γ = {fmt(g)}"
        if used.numel() == 1:
            why += f" (ΣH − max H = {float(used):.3f})"
        notes = [count_note(commit.sum(1), why, ctx.eligible.any(1))]
        fb = torch.zeros(ctx.ids.shape[0], dtype=torch.bool, device=ctx.ids.device)
        return PolicyResult(masked_scores(-ctx.stats.entropy, ctx.eligible), fb, notes=notes, commit=commit)


register(EBPolicy())
