"""BoE that decides how many to commit: an adaptive sampler's set, with TIS vetoing its risky members.

Each step the base rule proposes a set S: the threshold sampler's (confidence ≥ τ, Fast-dLLM) or
EB-Sampler's (lowest entropies while sum H − max H ≤ γ). When S holds two or more positions, one
BoE backward scores every member by its Token Influence Score: the estimated drop of the entropy
of the positions that stay masked (the probes) if that member were revealed. Committing S at once
ignores the members' effect on each other and on the rest; the veto takes back the members whose
reveal is estimated to help the rest least:

  veto = "negative": drop the members with TIS < 0 (revealing them is estimated to raise the rest's
                     entropy: their proposal disagrees with what the rest of the canvas expects);
  veto = "bottom":   drop the `veto_frac` of S with the lowest TIS (a rank rule: the fidelity
                     figures show TIS ranks candidates (Spearman 0.3–0.7) better than it signs them).

A third rule lets TIS set the count itself. base = "gain": the top-r candidates by confidence, taken
in confidence order while the entropy they commit net of what they are estimated to tell the rest,
sum_{j=2..k} (H_j − TIS_j), stays within γ_EB (the first always goes; EB-Sampler's budget with the
estimated information gain paid back, the Info-Gain objective with BoE's estimate of IG).

The most confident member is never vetoed, so a step commits at least one token. A step whose S
has at most one member costs one forward, like the base rule; a checked step adds what the
linearisation costs (the default, chosen on val, linearises at the current canvas and reuses the
step's own forward: one backward; midpoint: one forward and one backward).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from ..numerics import top_mask
from .base import PolicyResult, StepContext, masked_scores, register
from .boe import GRAD_NORM, LINEARIZE_OPTIONS, TIS, BoEPolicy, BoESettings, token_influence
from .commits import count_note, fmt, with_top1
from .eb import entropy_bounded_commit
from .selection import CANDIDATES, PROBES, num_candidates, probes
from .threshold import threshold_commit

BASES = ("threshold", "eb", "gain")
VETOES = ("negative", "bottom")


@dataclass
class BoEAdaptiveSettings(BoESettings):
    # Chosen on val (results/studies/boe_adaptive_val.md; sudoku, sudoku6, countdown, 40 problems each): the
    # threshold base at τ = 0.9 with the TIS < 0 veto, linearised at the current canvas (the step's own
    # forward is reused: one backward per checked step), had the best mean val quality of the variants.
    linearize_at: str = knob("current", "Linearise at", "where along the write the gradient is taken",
                             choices=LINEARIZE_OPTIONS, group="linearisation")
    base: str = knob("threshold", "Base rule", "the adaptive sampler whose set TIS vets (gain: the top-r by "
                     "confidence while their entropy net of TIS stays within γ_EB)", choices=BASES, group="adaptive")
    tau: float = knob(0.9, "τ · confidence threshold", "a token's confidence must be at least τ (threshold, "
                      "KLASS, BoE-adaptive's threshold base)",
                      range=(0.0, 1.0), step=0.01, group="adaptive")
    gamma_eb: float = knob(0.1, "γ_EB · entropy budget (nats)", "EB base: sum H − max H of the set stays within γ",
                           range=(0.0, 10.0), step=0.01, group="adaptive")
    veto: str = knob("negative", "Veto", "which members TIS takes back", choices=VETOES, group="adaptive")
    veto_frac: float = knob(0.25, "veto fraction", "bottom veto: the fraction of the set with the lowest TIS "
                            "taken back", range=(0.0, 1.0), step=0.05, group="adaptive")

    def validate(self):
        super().validate()
        if self.base not in BASES:
            raise ConfigError("base", self.base, f"must be one of {BASES}")
        if self.veto not in VETOES:
            raise ConfigError("veto", self.veto, f"must be one of {VETOES}")
        if not finite(self.tau) or not (0 <= self.tau <= 1):
            raise ConfigError("tau", self.tau, "must be in [0, 1]")
        if not finite(self.gamma_eb) or self.gamma_eb < 0:
            raise ConfigError("gamma_eb", self.gamma_eb, "must be a finite number >= 0")
        if not finite(self.veto_frac) or not (0 <= self.veto_frac < 1):
            raise ConfigError("veto_frac", self.veto_frac, "must be in [0, 1)")
        return self


def tis_veto(members: torch.Tensor, tis: torch.Tensor, keep: torch.Tensor, rule: str, frac: float) -> torch.Tensor:
    """The members TIS takes back (B, N) bool; `keep` (the most confident member) is never vetoed.
    negative: TIS < 0.  bottom: floor(frac · |S|) lowest-TIS members (ties: the earlier position)."""
    t = torch.nan_to_num(tis.double(), nan=0.0)
    open_ = members & ~keep
    if rule == "negative":
        return open_ & (t < 0)
    n_drop = torch.floor(frac * members.sum(1).double()).long()
    return top_mask(-t, open_, n_drop)


def gain_commit(confidence, entropy, tis, members: torch.Tensor, gamma: float) -> torch.Tensor:
    """The members taken in confidence order while sum_{j=2..k} (H_j - TIS_j) stays within gamma at
    every prefix; the most confident member always (B, N) bool."""
    conf = torch.where(members, confidence.double(), torch.full_like(confidence, -1.0, dtype=torch.float64))
    order = torch.sort(conf, dim=1, descending=True, stable=True).indices
    cost = (entropy.double() - torch.nan_to_num(tis.double(), nan=0.0)).gather(1, order)
    inside = members.gather(1, order)
    cost = torch.where(inside, cost, torch.zeros_like(cost))
    cost[:, 0] = 0.0  # the first is free
    spent = torch.cummax(torch.cumsum(cost, 1), 1).values
    take = inside & (spent <= gamma)
    take[:, 0] = inside[:, 0]
    return torch.zeros_like(members).scatter(1, order, take)


class BoEAdaptivePolicy(BoEPolicy):
    name = "boe-adaptive"
    description = "BoE deciding how many: an adaptive sampler's set (threshold or EB), TIS vetoing its risky members"
    settings_cls = BoEAdaptiveSettings
    signals = (TIS, GRAD_NORM, CANDIDATES, PROBES)
    order = 1

    def presets(self):
        return {"BoE adaptive (val-chosen: threshold τ=0.9, veto TIS<0, current)": {},
                "BoE adaptive · midpoint linearisation": {"linearize_at": "midpoint"},
                "BoE adaptive · veto bottom 25%": {"veto": "bottom", "veto_frac": 0.25},
                "BoE adaptive · EB base (γ=0.01)": {"base": "eb", "gamma_eb": 0.01},
                "BoE adaptive · gain base (γ=0.01)": {"base": "gain", "gamma_eb": 0.01}}

    def base_set(self, ctx: StepContext):
        """(the set S to vet, why, (B,) how many the base rule itself chose): S may also hold a
        row's top-1 fallback, which the count leaves out (so a note never says "1 cleared τ" when
        none did)."""
        cfg = ctx.settings
        if cfg.base == "gain":  # the pool; TIS decides how many below
            r, _ = num_candidates(ctx)
            S = top_mask(ctx.stats.confidence, ctx.eligible, r)
            return S, f"top-{r} candidates", S.sum(1)
        if cfg.base == "threshold":
            commit, cleared, _ = threshold_commit(ctx.stats.confidence, ctx.eligible, cfg.tau)
            return commit, f"cleared τ = {fmt(cfg.tau)}", cleared
        commit, _ = entropy_bounded_commit(ctx.stats.entropy, ctx.eligible, cfg.gamma_eb)
        return commit, f"fit γ = {fmt(cfg.gamma_eb)}", commit.sum(1)

    def score(self, ctx: StepContext) -> PolicyResult:
        cfg = ctx.settings
        S, why, chosen = self.base_set(ctx)
        active = ctx.eligible.any(1)
        conf_scores = masked_scores(ctx.stats.confidence, ctx.eligible)
        keep = top_mask(ctx.stats.confidence, S, 1)
        check = S & (S.sum(1) >= 2)[:, None]  # rows with a parallel commit to vet
        if not bool(check.any()):
            return PolicyResult(conf_scores, torch.zeros_like(active),
                                notes=[count_note(chosen, why, active) + "; nothing to vet"], commit=S)
        probe = probes(ctx, check)
        check = check & probe.any(1)[:, None]  # nothing left to inform: TIS says nothing, no veto
        if not bool(check.any()):
            return PolicyResult(conf_scores, torch.zeros_like(active), notes=[count_note(chosen, why, active)
                                + "; nothing left masked to inform, no check"], commit=S)
        tis, gnorm, extra, backwards = token_influence(ctx, check, probe)
        if cfg.base == "gain":
            taken = gain_commit(ctx.stats.confidence, ctx.stats.entropy, tis, S, cfg.gamma_eb)
            vetoed = check & ~taken
            rule = f"past the budget: Σ(H − TIS) > γ = {fmt(cfg.gamma_eb)}"
        else:
            vetoed = tis_veto(check, tis, keep, cfg.veto, cfg.veto_frac)
            rule = "TIS < 0" if cfg.veto == "negative" else f"the lowest {fmt(100 * cfg.veto_frac)}% of TIS"
        commit, fell_back = with_top1(S & ~vetoed, ctx.eligible, ctx.stats.confidence)
        notes = [count_note(chosen, why, active), count_note(vetoed.sum(1), f"held back ({rule})", active),
                 count_note(commit.sum(1), "committed", active)]
        scores = torch.where(check, torch.nan_to_num(tis.double(), nan=0.0), conf_scores)
        return PolicyResult(torch.where(ctx.eligible, scores, conf_scores), fell_back,
                            signals={"tis": tis, "grad_norm": gnorm, "candidates": check, "probes": probe},
                            extra_forwards=extra, backwards=backwards, notes=notes, commit=commit)


register(BoEAdaptivePolicy())
