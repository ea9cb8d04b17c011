"""Check BoE's first-order claim on one step: TIS vs the exact one-step entropy drop."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import DecodeConfig
from .numerics import token_stats
from .policies import StepContext
from .policies.boe import aqa_rows, token_influence
from .policies.lookahead import exact_entropy_drop
from .policies.selection import candidates, probes
from .sampler import state_at, step_seed
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
    BoE settings, whatever policy made the trace) and their exact entropy drops (|C| forwards)."""
    config = DecodeConfig.from_dict(trace.config).replace(**overrides)
    cfg = config.boe
    state = state_at(adapter, trace, at_step)
    ids, am = state.canvas[row:row + 1], None if state.attention_mask is None else state.attention_mask[row:row + 1]
    masked = ids == adapter.mask_id
    if am is not None:
        masked &= am
    s, e = state.schedule.blocks[state.schedule.step_block[at_step]]
    eligible = torch.zeros_like(masked)
    eligible[:, s:e] = masked[:, s:e]
    T = state.schedule.total_steps
    gen = torch.Generator(device=adapter.device).manual_seed(step_seed(config.seed, at_step))
    with torch.enable_grad():
        emb = adapter.embed(ids).detach().requires_grad_(True)
        h = adapter.hidden(emb, am, aqa_rows(adapter, cfg, masked))
    stats = token_stats(adapter.head(h.detach()), adapter.suppressed_ids, config.temperature, gen, 2)
    b = state.schedule.counts[row:row + 1, at_step].to(ids.device)
    ctx = StepContext(adapter, ids, am, masked, eligible, b, T - at_step, T, stats, cfg, gen, (emb, h))
    cand = candidates(ctx)
    probe = probes(ctx, cand)
    pos = cand[0].nonzero().flatten().tolist()
    if not pos or not bool(probe.any()):
        return Fidelity(at_step, row, pos, [], [], float("nan"), int(probe.sum()))
    tis, _, _ = token_influence(ctx, cand, probe)
    delta = exact_entropy_drop(ctx, cand, probe)
    t = tis[0, pos].tolist()
    d = delta[0, pos].tolist()
    return Fidelity(at_step, row, pos, t, d, spearman(t, d), int(probe.sum()))
