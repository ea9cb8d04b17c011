"""Check BoE's first-order claim on one step: TIS vs the exact one-step entropy drop."""
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
