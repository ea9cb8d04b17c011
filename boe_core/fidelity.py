"""Check BoE's first-order claim: TIS vs the exact one-step entropy drop, at one step or over a run."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .config import DecodeConfig
from .policies.boe import token_influence
from .policies.lookahead import exact_entropy_drop
from .policies.selection import candidates, probes
from .sampler import build_context, state_at
from .trace import Trace


@dataclass
class Fidelity:
    step: int
    row: int
    positions: list[int]
    tis: list[float]
    delta: list[float]  # exact Delta_i
    spearman: float  # rank correlation of TIS and Delta (NaN with < 2 candidates)
    n_probes: int


def spearman(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 2:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(a):
    """Average ranks (ties share the mean rank)."""
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(len(a), dtype=float)
    for v in np.unique(a):
        idx = a == v
        if idx.sum() > 1:
            ranks[idx] = ranks[idx].mean()
    return ranks


@torch.no_grad()
def tis_fidelity(adapter, trace: Trace, at_step: int, row: int = 0, **overrides) -> Fidelity:
    """Recompute, at the canvas before `at_step`, the BoE candidates, their TIS (with the trace's
    shared settings and BoE defaults for the rest, whatever policy made the trace; `overrides`
    such as ``linearize_at="midpoint"`` change them) and their exact entropy drops (|C| forwards)."""
    config = DecodeConfig.from_dict(trace.config).replace(policy="boe", **overrides).validate()
    state = state_at(adapter, trace, at_step)
    one = slice(row, row + 1)
    state = replace(state, canvas=state.canvas[one], fixed=state.fixed[one],
                    attention_mask=None if state.attention_mask is None else state.attention_mask[one],
                    schedule=replace(state.schedule, counts=state.schedule.counts[one]))
    ctx = build_context(adapter, state, config)
    cand, _ = candidates(ctx)
    probe = probes(ctx, cand)
    pos = cand[0].nonzero().flatten().tolist()
    if not pos or not bool(probe.any()):
        return Fidelity(at_step, row, pos, [], [], float("nan"), int(probe.sum()))
    tis = token_influence(ctx, cand, probe)[0]
    delta = exact_entropy_drop(ctx, cand, probe)
    t = tis[0, pos].tolist()
    d = delta[0, pos].tolist()
    return Fidelity(at_step, row, pos, t, d, spearman(t, d), int(probe.sum()))


# --- fidelity over whole runs ---------------------------------------------------------------------
# name -> BoE settings overrides; every variant shares the candidates and probes of a state
VARIANTS = {
    "current": dict(linearize_at="current"),
    "surrogate": dict(linearize_at="surrogate"),
    "midpoint a=0.5": dict(linearize_at="midpoint", alpha=0.5),
    "midpoint a=0.25": dict(linearize_at="midpoint", alpha=0.25),
    "midpoint a=0.4": dict(linearize_at="midpoint", alpha=0.4),
    "midpoint a=0.6": dict(linearize_at="midpoint", alpha=0.6),
    "midpoint a=0.75": dict(linearize_at="midpoint", alpha=0.75),
    "quadrature k=2": dict(linearize_at="quadrature", quad_points=2),
    "quadrature k=3": dict(linearize_at="quadrature", quad_points=3),
    "quadrature k=4": dict(linearize_at="quadrature", quad_points=4),
}


def state_metrics(tis: np.ndarray, delta: np.ndarray) -> dict:
    """Spearman(TIS, Delta), top-1 agreement and sign agreement over one state's candidates."""
    return {"spearman": spearman(tis, delta),
            "top1": float(np.argmax(tis) == np.argmax(delta)),
            "sign": float(np.mean(np.sign(tis) == np.sign(delta))),
            "n_candidates": int(tis.size)}


@torch.no_grad()
def measure_trace(adapter, trace: Trace, settings: dict | None = None, variants: dict | None = None,
                  every: int = 1, source: str = "", rows: list[int] | None = None,
                  callback=None, cancel=None) -> list[dict]:
    """One dict per (step, row, variant): that variant's TIS against the exact drop, on the BoE
    candidates and probes of every `every`-th state of the trace (the trace's shared settings,
    BoE defaults for the rest, then `settings`). States where BoE would fall back are skipped.
    `callback(done, total)` reports progress; a set `cancel` event stops early."""
    variants = variants or {"run's own": {}}
    out = []
    own = DecodeConfig.from_dict(trace.config).replace(policy="boe", **(settings or {})).validate().settings
    for k, ctx, cand, probe in _boe_states(adapter, trace, settings, every, callback, cancel):
        ok = (cand.sum(1) > ctx.b) & (cand.sum(1) >= 2) & (probe.sum(1) > 0)
        if rows is not None:
            keep = torch.zeros_like(ok)
            keep[rows] = True
            ok &= keep
        if bool(ok.any()):
            delta = exact_entropy_drop(ctx, cand, probe).cpu().numpy()
            tis = {}
            for name, over in variants.items():
                ctx.settings = replace(own, **over)
                tis[name] = token_influence(ctx, cand, probe)[0].float().cpu().numpy()
            c = cand.cpu().numpy()
            for r in np.flatnonzero(ok.cpu().numpy()):
                d = delta[r][c[r]]
                for name in variants:
                    out.append({"source": source, "step": k, "row": int(r), "variant": name,
                                **state_metrics(tis[name][r][c[r]], d)})
    return out


def _boe_states(adapter, trace: Trace, settings, every: int, callback, cancel):
    """Every `every`-th state of the trace with BoE's candidates and probes there, as
    (step, context with a grad-enabled forward at the current canvas, candidates, probes); the
    trace's shared settings, BoE defaults for the rest, then `settings`. Reports progress after
    each state and stops early when `cancel` is set."""
    base = DecodeConfig.from_dict(trace.config).replace(policy="boe", **(settings or {}))
    base = base.replace(linearize_at="current").validate()
    steps = list(range(0, trace.num_steps, every))
    for n, k in enumerate(steps):
        if cancel is not None and cancel.is_set():
            return
        ctx = build_context(adapter, state_at(adapter, trace, k), base, force_graph=True)
        cand, _ = candidates(ctx)
        yield k, ctx, cand, probes(ctx, cand)
        ctx.graph = None
        if callback is not None:
            callback(n + 1, len(steps))


# --- remask TIS: BoE's gradient at committed tokens ----------------------------------------------
def exact_remask_drop(ctx, pool: torch.Tensor, probe: torch.Tensor) -> torch.Tensor:
    """Delta_j = F(x_t) - F(x_t with j := [MASK]) for every committed j in `pool` (one forward
    each, batched), F the entropy of the same probes (j's own entropy not counted, as in the
    estimate); NaN elsewhere."""
    return exact_remask_facts(ctx, pool, probe)["drop"]


def exact_remask_facts(ctx, pool: torch.Tensor, probe: torch.Tensor) -> dict[str, torch.Tensor]:
    """For every committed j in `pool`, from one forward with j := [MASK] (batched): "drop" (the
    probes' entropy drop, as `exact_remask_drop`), "own_entropy" (H_j, the entropy j itself would
    have once masked) and "own_prob" (the probability the model then gives j's committed token);
    (B, N) float32, NaN elsewhere."""
    from .numerics import entropy_from_logits, suppress
    from .policies.lookahead import CHUNK
    from .policies.objective import probe_entropy

    adapter = ctx.adapter
    f_before = (ctx.stats.entropy * probe).sum(1)
    rows, cols = pool.nonzero(as_tuple=True)
    out = {k: torch.full(ctx.ids.shape, float("nan"), device=ctx.ids.device)
           for k in ("drop", "own_entropy", "own_prob")}
    for s in range(0, rows.numel(), CHUNK):
        r, c = rows[s:s + CHUNK], cols[s:s + CHUNK]
        at = torch.arange(r.numel(), device=r.device)
        ids = ctx.ids[r].clone()
        ids[at, c] = adapter.mask_id
        am = None if ctx.attention_mask is None else ctx.attention_mask[r]
        h = adapter.hidden(adapter.embed(ids), am, None)
        out["drop"][r, c] = (f_before[r] - probe_entropy(adapter, h, probe[r])).float()
        own = torch.zeros_like(probe[r])
        own[at, c] = True
        logits = adapter.head(h[own]) if adapter.split_head else h[own]  # rows in (r, c) order
        lg = suppress(logits, adapter.suppressed_ids)
        logp = torch.log_softmax(lg, dim=-1)
        out["own_entropy"][r, c] = entropy_from_logits(lg).float()
        out["own_prob"][r, c] = logp.gather(1, ctx.ids[r, c][:, None]).squeeze(1).exp()
    return out


def remask_estimates(ctx, cand: torch.Tensor, probe: torch.Tensor, settings, variants: dict) -> dict:
    """name -> remask TIS (B, N) of each linearisation variant, on one context (its graph kept)."""
    from .policies.boe import remask_influence, weighted_gradient

    out = {}
    for name, over in variants.items():
        ctx.settings = replace(settings, **over)
        out[name] = remask_influence(ctx, weighted_gradient(ctx, cand, probe)[1]).float().cpu().numpy()
    return out


@torch.no_grad()
def measure_remask_trace(adapter, trace: Trace, settings: dict | None = None, variants: dict | None = None,
                         every: int = 1, source: str = "", max_committed: int | None = None,
                         callback=None, cancel=None) -> list[dict]:
    """Like `measure_trace`, for remask TIS: one dict per (step, row, variant) comparing each
    variant's remask TIS at the committed tokens of the current block with the exact drop of
    really remasking each (one forward per committed token), on BoE's candidates and probes
    (the trace's settings, BoE defaults for the rest, then `settings`). States with fewer than
    two committed tokens or no probes are skipped; `max_committed` keeps the first ones by
    position (None: all)."""
    from .policies.revision import revisable

    variants = variants or {"run's own": {}}
    out = []
    own = DecodeConfig.from_dict(trace.config).replace(policy="boe", **(settings or {})).validate().settings
    for k, ctx, cand, probe in _boe_states(adapter, trace, settings, every, callback, cancel):
        pool = revisable(ctx)
        if max_committed is not None:
            pool &= pool.cumsum(1) <= max_committed
        ok = (pool.sum(1) >= 2) & (probe.sum(1) > 0)
        if bool(ok.any()):
            delta = exact_remask_drop(ctx, pool & ok[:, None], probe).cpu().numpy()
            est = remask_estimates(ctx, cand, probe, own, variants)
            p = pool.cpu().numpy()
            for r in np.flatnonzero(ok.cpu().numpy()):
                d = delta[r][p[r]]
                for name in variants:
                    m = state_metrics(est[name][r][p[r]], d)
                    out.append({"source": source, "step": k, "row": int(r), "variant": name, **m})
    return out
