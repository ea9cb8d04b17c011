"""Candidates, probes, gates and the selection score shared by BoE and lookahead search.

Both policies estimate each candidate's drop of the probe entropy (BoE with a gradient, lookahead
exactly); they share everything else, including their settings (`EntropyDropSettings`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite, is_int
from ..knobs import knob
from ..numerics import top_mask
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext

PROBE_SCOPES = ("canvas", "block")
GATES = ("product", "threshold", "additive")


@dataclass
class EntropyDropSettings:
    """Knobs shared by every policy that ranks candidates by a (estimated) future-entropy drop.

    How the drop signal and confidence c combine into the selection score (`gate`):
      product:   c^gamma * minmax(signal)                       (the paper's reading)
      threshold: candidates with c >= tau_c, plus confidence's own top-b, ranked by the signal
      additive:  c + beta * rank-normalised(signal)
    """

    r: int | None = knob(None, "r · candidates per step", "top-r eligible positions by confidence; r < b is "
                         "raised to b", kind="int", range=(0, 512), group="candidates", none_label="0 = max(8, 4b)")
    rho: float = knob(0.25, "ρ · fraction of masks used as probes", "the highest-entropy fraction of the other "
                      "masked positions whose entropy is the objective", range=(0.01, 1.0), step=0.01,
                      group="candidates")
    probe_scope: str = knob("canvas", "Probe scope", "probes from the whole canvas or the current block only",
                            choices=PROBE_SCOPES, group="candidates")
    gate: str = knob("product", "Gate", "how confidence and the entropy signal combine", choices=GATES,
                     group="gate")
    gamma: float = knob(2.0, "γ · confidence exponent", "exponent of confidence in the product gate",
                        range=(0.0, 16.0), group="gate")
    tau_c: float = knob(0.9, "τ_c · threshold gate", "confidence threshold of the threshold gate",
                        range=(0.0, 1.0), step=0.01, group="gate")
    beta: float = knob(0.5, "β · additive gate", "weight of the rank-normalised signal in the additive gate",
                       range=(0.0, 16.0), group="gate")
    lam: float = knob(0.2, "λ · anti-collapse weight", "weight of the entropy-floor penalty", range=(0.0, 16.0),
                      group="anti-collapse")
    h_max: float = knob(0.3, "h_max · entropy floor at the end", "entropy floor at t = T, falling linearly",
                        range=(0.0, 16.0), group="anti-collapse")

    def validate(self):
        if self.r is not None and (not is_int(self.r) or self.r < 1):
            raise ConfigError("r", self.r, "must be a positive integer (or None for max(8, 4b))")
        if not finite(self.rho) or not (0 < self.rho <= 1):
            raise ConfigError("rho", self.rho, "must be in (0, 1]")
        for name in ("gamma", "lam", "h_max", "beta"):
            v = getattr(self, name)
            if not finite(v) or v < 0:
                raise ConfigError(name, v, "must be a finite number >= 0")
        if not finite(self.tau_c) or not (0 <= self.tau_c <= 1):
            raise ConfigError("tau_c", self.tau_c, "must be in [0, 1]")
        if self.probe_scope not in PROBE_SCOPES:
            raise ConfigError("probe_scope", self.probe_scope, f"must be one of {PROBE_SCOPES}")
        if self.gate not in GATES:
            raise ConfigError("gate", self.gate, f"must be one of {GATES}")
        return self


CANDIDATES = Signal("candidates", "candidates C_t", kind="bool", overlay=False,
                    description="the top-r eligible positions by confidence")
PROBES = Signal("probes", "probes P_t", kind="bool", overlay=False,
                description="masked positions whose entropy is the objective")


def num_candidates(ctx: StepContext) -> tuple[int, list[str]]:
    """r for this step, and a note when a too-small r was raised to b (one rule everywhere)."""
    b_max = ctx.b_max if ctx.b_max is not None else int(ctx.b.max())
    r = ctx.settings.r
    if r is None:
        return max(8, 4 * b_max), []
    if r < b_max:
        return b_max, [f"r={r} < b={b_max}: r raised to {b_max}"]
    return r, []


def candidates(ctx: StepContext) -> tuple[torch.Tensor, list[str]]:
    """C_t: the top-r eligible positions by confidence (and the r note, if any)."""
    r, notes = num_candidates(ctx)
    return top_mask(ctx.stats.confidence, ctx.eligible, r), notes


def probes(ctx: StepContext, cand: torch.Tensor) -> torch.Tensor:
    """P_t: masked non-candidates (canvas- or block-wide); with rho < 1 the ceil(rho*|M|) of them
    with the highest entropy."""
    cfg = ctx.settings
    scope = ctx.masked if cfg.probe_scope == "canvas" else ctx.eligible
    pool = scope & ~cand
    if cfg.rho >= 1:
        return pool
    keep = torch.ceil(cfg.rho * scope.sum(1).double()).long()
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


def rank_normalised(values: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Per row, the rank of each value among `where` mapped to [0, 1] (1 = largest); a lone value
    maps to 1. Insensitive to the signal's scale, unlike minmax."""
    v = torch.where(where, values.double(), torch.full_like(values, float("-inf"), dtype=torch.float64))
    order = torch.sort(v, dim=1, stable=True).indices  # ascending; -inf (outside) first
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(v.shape[1], device=v.device).expand_as(order).contiguous())
    n = where.sum(1, keepdim=True)
    first = v.shape[1] - n  # rank of the smallest value inside `where`
    r = (rank - first).double() / (n - 1).clamp_min(1).double()
    r = torch.where(n > 1, r, torch.ones_like(r))
    return torch.where(where, r, torch.zeros_like(r))


def gate_pool(ctx: StepContext, cand: torch.Tensor) -> torch.Tensor:
    """The candidates the threshold gate lets through: c >= tau_c, plus confidence's own top-b."""
    own = ctx.confidence_pick
    if own is None:  # a context built by hand (tests, tools)
        own = top_mask(ctx.stats.confidence, ctx.eligible, ctx.b)
    return cand & ((ctx.stats.confidence >= ctx.settings.tau_c) | own)


def selection_score(ctx: StepContext, signal: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """The gate's score on candidates minus lam * [h_t - H_i]_+^2; -inf off the (gated) candidates."""
    cfg = ctx.settings
    conf = ctx.stats.confidence.double()
    floor = cfg.h_max * ctx.t / ctx.T
    penalty = cfg.lam * torch.clamp(floor - ctx.stats.entropy.double(), min=0) ** 2
    if cfg.gate == "product":
        pool = cand
        s = conf.pow(cfg.gamma) * minmax(signal, cand)
    elif cfg.gate == "threshold":
        pool = gate_pool(ctx, cand)
        s = minmax(signal, pool)
    else:  # additive
        pool = cand
        s = conf + cfg.beta * rank_normalised(signal, cand)
    s = s - penalty
    return torch.where(pool, s, torch.full_like(s, float("-inf")))


def with_fallback(ctx: StepContext, scores: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    conf = torch.where(ctx.eligible, ctx.stats.confidence.double(),
                       torch.full_like(scores, float("-inf")))
    return torch.where(fallback[:, None], conf, scores)


class EntropyDropPolicy(Policy):
    """BoE and lookahead share everything but the estimate of each candidate's entropy drop:
    candidates, probes, the confidence fallback, the gate and the selection score."""

    settings_cls = EntropyDropSettings
    signals = (CANDIDATES, PROBES)

    def entropy_drop(self, ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
        """(drop estimate (B, N), NaN off candidates; PolicyResult fields: signals, counts)."""
        raise NotImplementedError

    def score(self, ctx: StepContext) -> PolicyResult:
        cand, notes = candidates(ctx)
        probe = probes(ctx, cand)
        fb = fallback_rows(ctx, cand, probe)
        base = {"candidates": cand, "probes": probe}
        if bool(fb.all()):
            return PolicyResult(with_fallback(ctx, ctx.stats.confidence.double(), fb), fb, base, notes=notes)
        drop, extra = self.entropy_drop(ctx, cand, probe)
        s = selection_score(ctx, torch.nan_to_num(drop.double(), nan=0.0), cand)
        signals = {**base, **extra.pop("signals", {})}
        return PolicyResult(with_fallback(ctx, s, fb), fb, signals, notes=notes, **extra)
