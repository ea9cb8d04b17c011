"""ReMDM (Wang, Schiff, Sahoo, Kuleshov 2025, "Remasking Discrete Diffusion Models with
Inference-Time Scaling", arXiv:2503.00307): at each step a decoded token may go back to [MASK]
with probability sigma_t, so a later step can write it again.

With alpha_t the decoded fraction at time t (here the loop's linear schedule, alpha_t = 1 - t/T,
t the budget left), a step t -> s may remask at most sigma_max = min(1, (1 - alpha_s) / alpha_t)
of the decoded tokens. Two of the paper's schedules:
- cap: sigma_t = min(eta, sigma_max) for every decoded token; the tokens taken back are a uniform
  draw (the step's own generator, one stream per row);
- confidence: the same budget, spent on the decoded tokens that were committed with the lowest
  confidence (the paper weights tokens by softmax(-psi), psi the confidence at commit: we take
  the expected count, round(sigma_t * n), and the most likely tokens under that weighting).
The loop's default count b re-spreads the remasked tokens over the steps left, which plays the
part of ReMDM's adjusted unmasking probability. Remasking runs only inside the window
[start, stop) of the budget (ReMDM's t_on / t_off), never at the last step, and only inside the
current block.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, no_fallback, register
from .revision import lowest, revisable

VARIANTS = ("cap", "confidence")


@dataclass
class ReMDMSettings:
    variant: str = knob("cap", "Schedule", "cap: a uniform draw of the decoded tokens; confidence: the ones "
                        "committed with the lowest confidence", choices=VARIANTS, group="remasking")
    # eta chosen on Sudoku val (results/sudoku/revision_val.csv): 0.02 (about one token per step
    # there) beat 0.05 and 0.1 at 12 and 24 steps, for both schedules
    eta: float = knob(0.02, "η · remask cap", "at most this fraction of the decoded tokens goes back per step",
                      range=(0.0, 1.0), step=0.01, group="remasking")
    start: float = knob(0.25, "start · fraction of the budget", "remask only once this fraction of the step "
                        "budget is spent", range=(0.0, 1.0), step=0.05, group="remasking")
    stop: float = knob(0.9, "stop · fraction of the budget", "and only before this fraction",
                       range=(0.0, 1.0), step=0.05, group="remasking")

    def validate(self):
        if self.variant not in VARIANTS:
            raise ConfigError("variant", self.variant, f"must be one of {VARIANTS}")
        if not finite(self.eta) or not 0 <= self.eta <= 1:
            raise ConfigError("eta", self.eta, "must be in [0, 1]")
        for name in ("start", "stop"):
            v = getattr(self, name)
            if not finite(v) or not 0 <= v <= 1:
                raise ConfigError(name, v, "must be in [0, 1]")
        if self.start > self.stop:
            raise ConfigError("start", self.start, f"must not exceed stop={self.stop}")
        return self


REMASK_P = Signal("remdm_sigma", "ReMDM σ_t (remask probability)", colorscale="Purples",
                  description="ReMDM's remask probability of each decoded token at this step")


def sigma(settings: ReMDMSettings, t: int, T: int) -> float:
    """sigma_t of a step with t of T steps of budget left (the cap schedule), 0 outside the window."""
    spent = (T - t) / T
    if t <= 1 or not (settings.start <= spent < settings.stop):
        return 0.0
    alpha_t, alpha_s = 1 - t / T, 1 - (t - 1) / T
    sigma_max = 1.0 if alpha_t <= 0 else min(1.0, (1 - alpha_s) / alpha_t)
    return min(settings.eta, sigma_max)


def remdm_remask(ctx: StepContext, settings: ReMDMSettings) -> tuple[torch.Tensor, float]:
    """(remask (B, N) bool, sigma_t): round(sigma_t * n) of the n revisable tokens per row."""
    pool = revisable(ctx)
    s = sigma(settings, ctx.t, ctx.T)
    if s == 0.0 or ctx.final:
        return torch.zeros_like(pool), s
    count = torch.floor(s * pool.sum(1).double() + 0.5).long()
    if settings.variant == "cap":
        draw = torch.rand(pool.shape, generator=ctx.generator, dtype=torch.float64, device=pool.device)
        return lowest(draw, pool, count), s
    psi = torch.nan_to_num(ctx.commit_confidence.double(), nan=float("inf"))  # unknown: never first
    return lowest(psi, pool, count), s


class ReMDMPolicy(Policy):
    name = "remdm"
    description = "ReMDM: confidence order, and a few decoded tokens go back to [MASK] each step (σ_t)"
    settings_cls = ReMDMSettings
    signals = (REMASK_P,)
    order = 40

    def presets(self):
        return {"ReMDM · cap (η=0.02)": {}, "ReMDM · confidence (η=0.02)": {"variant": "confidence"}}

    def score(self, ctx):
        remask, s = remdm_remask(ctx, ctx.settings)
        sig = torch.where(revisable(ctx), torch.full(ctx.ids.shape, s, device=ctx.ids.device),
                          torch.full(ctx.ids.shape, float("nan"), device=ctx.ids.device))
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), no_fallback(ctx),
                            signals={"remdm_sigma": sig}, remask=remask)


register(ReMDMPolicy())
