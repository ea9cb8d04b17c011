"""Backward-on-Entropy steering: rank candidates by the Token Influence Score

    TIS_i = -<dF/de_i (at the linearisation point), e~_i - e_[MASK]>,   F = sum_{j in probes} H(pi_j),

an estimate of how much revealing i lowers the entropy of the positions that stay masked. One
backward pass scores every candidate at once.

Where the gradient is taken matters (mean-value theorem: the exact change along the write is
<grad F(e + a*De), De> for some a in (0, 1)):
- "current":    a = 0, the step's own forward is reused (1 forward + 1 backward);
- "surrogate":  a = 1, every candidate fully soft-written (2 forwards + 1 backward);
- "midpoint":   a = `alpha` (default 1/2, the midpoint rule) for every candidate (2 forwards + 1 backward);
- "quadrature": k-point Gauss-Legendre along the write, the k points batched into one forward and
                one backward call (1 + k forward- and k backward-equivalents).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from ..numerics import entropy_logit_grad
from ..signals import Signal
from .base import StepContext, register
from .objective import probe_entropy, soft_embeddings
from .selection import CANDIDATES, GATES, PROBES, EntropyDropPolicy, EntropyDropSettings, num_candidates

LINEARIZE_OPTIONS = ("current", "surrogate", "midpoint", "quadrature")
QUAD_POINTS = (2, 3, 4)


@dataclass
class BoESettings(EntropyDropSettings):
    # The shipped defaults were chosen on the Sudoku validation split (results/sudoku/variants_val.csv,
    # 100 puzzles, 12 and 24 steps: the best mean solve rate; see docs/benchmarks.md): the midpoint
    # linearisation, the threshold gate and a small candidate set (r = 8, about 2b at 12 steps).
    r: int | None = knob(8, "r · candidates per step", "top-r eligible positions by confidence; r < b is raised "
                         "to b", kind="int", range=(0, 512), group="candidates", none_label="0 = max(8, 4b)")
    gate: str = knob("threshold", "Gate", "how confidence and the entropy signal combine", choices=GATES,
                     group="gate")
    tau_s: float = knob(1.0, "τ_s · soft-write temperature", "temperature of the soft write of a candidate",
                        range=(0.01, 100.0), group="linearisation")
    linearize_at: str = knob("midpoint", "Linearise at", "where along the write the gradient is taken",
                             choices=LINEARIZE_OPTIONS, group="linearisation")
    alpha: float = knob(0.5, "α · midpoint", "write fraction of the midpoint linearisation, in (0, 1]",
                        range=(0.01, 1.0), step=0.01, group="linearisation")
    quad_points: int = knob(2, "k · quadrature points", "Gauss-Legendre points of the quadrature linearisation",
                            choices=QUAD_POINTS, group="linearisation")
    use_aqa: bool = knob(True, "ActiveQueryAttention (sparse backward)", "sparse backward through "
                         "ActiveQueryAttention where the model supports it", group="kernel")
    # ... but only where it pays off: None = the crossover measured for this device, sequence
    # length and head size (kernels/crossover.json); a number = AQA while at most this fraction
    # of the rows is active (1.0 = always).
    aqa_max_active: float | None = knob(None, "AQA up to this active fraction", "use the sparse backward while "
                                        "at most this fraction of rows is active", kind="float", range=(0.0, 1.0),
                                        step=0.01, group="kernel", none_label="0 = the measured crossover")

    def validate(self):
        super().validate()
        if not isinstance(self.use_aqa, bool):
            raise ConfigError("use_aqa", self.use_aqa, "must be true or false")
        if self.aqa_max_active is not None and (not finite(self.aqa_max_active)
                                                or not (0 < self.aqa_max_active <= 1)):
            raise ConfigError("aqa_max_active", self.aqa_max_active, "must be in (0, 1] or None (measured crossover)")
        if not finite(self.tau_s) or self.tau_s <= 0:
            raise ConfigError("tau_s", self.tau_s, "must be a finite number > 0")
        if self.linearize_at not in LINEARIZE_OPTIONS:
            raise ConfigError("linearize_at", self.linearize_at, f"must be one of {LINEARIZE_OPTIONS}")
        if not finite(self.alpha) or not (0 < self.alpha <= 1):
            raise ConfigError("alpha", self.alpha, "must be in (0, 1]")
        if self.quad_points not in QUAD_POINTS:
            raise ConfigError("quad_points", self.quad_points, f"must be one of {QUAD_POINTS}")
        return self


TIS = Signal("tis", "TIS (estimated drop)", colorscale="RdBu", symmetric=True,
             description="Token Influence Score: −⟨∂F/∂e_i, Δe_i⟩ at the linearisation point")
GRAD_NORM = Signal("grad_norm", "‖∂F/∂e‖", colorscale="Viridis",
                   description="norm of the entropy gradient at each position's input embedding")
REMASK_TIS = Signal("remask_tis", "what the rest hinges on (remask TIS)", colorscale="RdBu", symmetric=True,
                    description="−⟨∂F/∂e_j, e_[MASK] − e_j⟩ at committed positions: the estimated drop of the "
                                "masked positions' entropy if j were remasked (j's own entropy not counted); "
                                "from the same backward as TIS")


def aqa_rows(adapter, cfg, rows: torch.Tensor, fraction: float | None = None):
    """The active row set for ActiveQueryAttention, or None for a dense backward (AQA off, not
    supported by the model, or too many active rows for the sparse backward to pay off on this
    device: the measured crossover, or `aqa_max_active` when set).
    `fraction` (active rows / all rows) may be given when known on the host, to skip a sync."""
    if not (cfg.use_aqa and adapter.supports_active_rows):
        return None
    from kernels import aqa_worth_it

    if fraction is None:
        fraction = float(rows.float().mean())
    L = rows.shape[1]
    n_active = max(1, math.ceil(fraction * L))
    if not aqa_worth_it(adapter.device, L, n_active, head_dim=getattr(adapter, "attention_head_dim", 64),
                        max_active=cfg.aqa_max_active):
        return None
    return rows


def active_fraction(ctx: StepContext, cand: torch.Tensor) -> float | None:
    """|C ∪ P| / N estimated on the host (at most r candidates plus ceil(rho·|M|) probes), so the
    AQA decision needs no device sync; None when the schedule's facts are not in the context."""
    if ctx.masked_fraction is None or ctx.b_max is None:
        return None
    N = ctx.ids.shape[1]
    r, _ = num_candidates(ctx)
    masked = ctx.masked_fraction * N
    return min(1.0, (min(max(r, ctx.b_max), masked) + math.ceil(ctx.settings.rho * masked)) / N)


def path_points(cfg) -> tuple[list[float], list[float]]:
    """(write fractions a_j, weights w_j) with TIS = -sum_j w_j <grad F(e0 + a_j De), De>."""
    if cfg.linearize_at == "current":
        return [0.0], [1.0]
    if cfg.linearize_at == "surrogate":
        return [1.0], [1.0]
    if cfg.linearize_at == "midpoint":
        return [float(cfg.alpha)], [1.0]
    x, w = np.polynomial.legendre.leggauss(cfg.quad_points)  # on [-1, 1]
    return [float(v) for v in (x + 1) / 2], [float(v) for v in w / 2]


def entropy_gradient(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
    """Gradients of F at the linearisation point(s): (g (k, B, N, d), weights (k,), soft
    embeddings of the candidates (|C|, d), forward-equivalents beyond the step's main one)."""
    adapter, cfg = ctx.adapter, ctx.settings
    soft = soft_embeddings(adapter, ctx.stats.log_probs_at(cand), cfg.tau_s)
    alphas, weights = path_points(cfg)
    with torch.enable_grad():
        if alphas == [0.0]:
            if ctx.graph is None:
                raise RuntimeError("linearize_at='current' needs the step's grad-enabled forward")
            e, h = ctx.graph
            if adapter.split_head:
                # the probes' log-probabilities and entropies are the step's own statistics: form
                # dF/dlogits from them and go back through the head by a VJP, no recomputation
                dz = entropy_logit_grad(ctx.stats.log_probs_at(probe), ctx.stats.entropy[probe])
                rows = h[probe]
                (g,) = torch.autograd.grad(rows, e, grad_outputs=adapter.head_vjp(rows, dz))
            else:
                (g,) = torch.autograd.grad(probe_entropy(adapter, h, probe).sum(), e)
            return g[None], weights, soft, 0
        # every candidate written at e_mask + a*De, the k points stacked along the batch
        k, B = len(alphas), ctx.ids.shape[0]
        base = adapter.embed(ctx.ids).detach()
        e_mask = base[cand]  # candidates are masked: these rows are e_[MASK]
        delta = soft.to(base.dtype) - e_mask
        copies = []
        for a in alphas:
            x = base.clone()
            x[cand] = e_mask + a * delta
            copies.append(x)
        e = torch.cat(copies, 0).requires_grad_(True)  # (k*B, N, d)
        am = None if ctx.attention_mask is None else ctx.attention_mask.repeat(k, 1)
        active = cand | probe
        h = adapter.hidden(e, am, aqa_rows(adapter, cfg, active.repeat(k, 1), active_fraction(ctx, cand)))
        F = probe_entropy(adapter, h, probe.repeat(k, 1)).sum()
        (g,) = torch.autograd.grad(F, e)
    return g.view(k, B, *g.shape[1:]), weights, soft, k


def weighted_gradient(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
    """(TIS (B, N) at candidates, NaN elsewhere; the quadrature-weighted gradient dF/de (B, N, d);
    forward-equivalents beyond the main one; backward-equivalents)."""
    g, weights, soft, extra = entropy_gradient(ctx, cand, probe)
    acc = torch.promote_types(g.dtype, torch.float32)  # bf16 models: reduce in float32
    w = torch.tensor(weights, dtype=acc, device=g.device).view(-1, 1, 1, 1)
    g = (g.to(acc) * w).sum(0)  # the quadrature-weighted gradient (B, N, d)
    delta_e = soft.to(acc) - ctx.adapter.embedding_matrix()[ctx.adapter.mask_id].to(acc)
    tis = torch.full(ctx.ids.shape, float("nan"), dtype=acc, device=g.device)
    tis[cand] = -(g[cand] * delta_e).sum(-1)
    return tis, g, extra, len(weights)


def token_influence(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor):
    """(TIS (B, N) at candidates, NaN elsewhere; ||g|| (B, N) of the weighted gradient;
    forward-equivalents beyond the main one; backward-equivalents)."""
    tis, g, extra, backwards = weighted_gradient(ctx, cand, probe)
    return tis, g.norm(dim=-1), extra, backwards


def remask_influence(ctx: StepContext, g: torch.Tensor) -> torch.Tensor:
    """remask TIS_j = -<dF/de_j, e_[MASK] - e_j> at committed positions j (never prompt or fixed
    cells), NaN elsewhere: TIS run in reverse, the first-order drop of F (the entropy of the
    probes, positions masked now) if j went back to [MASK]. j's own entropy, which would join the
    masked set, is not counted: F is the same probe set as TIS's, so that the estimate and the
    exact drop it is checked against (`boe_core.fidelity.remask_fidelity`) measure one thing.
    `g`: the weighted gradient (B, N, d) of `weighted_gradient`. Under ActiveQueryAttention (a
    sparse backward over candidates and probes) the gradient at committed rows is partial."""
    committed = ctx.committed
    E = ctx.adapter.embedding_matrix()
    acc = g.dtype
    out = torch.full(ctx.ids.shape, float("nan"), dtype=acc, device=g.device)
    delta = E[ctx.adapter.mask_id].to(acc) - E[ctx.ids[committed]].to(acc)
    out[committed] = -(g[committed] * delta).sum(-1)
    return out


class BoEPolicy(EntropyDropPolicy):
    name = "boe"
    description = "Backward-on-Entropy: candidates ranked by the gradient-estimated future entropy drop"
    settings_cls = BoESettings
    signals = (TIS, GRAD_NORM, REMASK_TIS, CANDIDATES, PROBES)
    order = 0

    def presets(self):
        """The shipped default and one named variant per idea; each is the defaults plus what its
        name says, so a new default reaches them all."""
        return {
            "BoE default": {},
            "BoE · linearise at the midpoint (α=0.5)": dict(linearize_at="midpoint", alpha=0.5),
            "BoE · quadrature linearisation (k=3)": dict(linearize_at="quadrature", quad_points=3),
            "BoE · surrogate linearisation": dict(linearize_at="surrogate"),
            "BoE · linearise at the current point": dict(linearize_at="current"),
            "BoE · threshold gate (τ_c=0.9)": dict(gate="threshold", tau_c=0.9),
            "BoE · additive gate (β=0.5)": dict(gate="additive", beta=0.5),
            "BoE · dense backward (no AQA)": dict(use_aqa=False),
            "BoE · probes in block only": dict(probe_scope="block"),
            "BoE · no anti-collapse (λ=0)": dict(lam=0.0),
        }

    def main_forward(self, adapter, settings, masked, masked_fraction):
        if settings.linearize_at != "current":
            return False, None
        return True, aqa_rows(adapter, settings, masked, masked_fraction)

    def entropy_drop(self, ctx, cand, probe):
        tis, g, extra, backwards = weighted_gradient(ctx, cand, probe)
        signals = {"tis": tis, "grad_norm": g.norm(dim=-1), "remask_tis": remask_influence(ctx, g)}
        return tis, dict(signals=signals, extra_forwards=extra, backwards=backwards)


register(BoEPolicy())
