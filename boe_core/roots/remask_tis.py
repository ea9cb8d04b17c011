"""remask-tis: BoE's remask TIS (the first-order drop of the masked entropy if a committed token went
back to [MASK], `boe_core.policies.boe.remask_influence`), taken at every later state of the run
that still has probes (one BoE forward + backward each, BoE's defaults on the run's config), each
state's values turned into percentile ranks among its committed tokens and averaged per commit.
Commits with no later state that has probes (late steps: every mask is a candidate) get 0.5."""
from __future__ import annotations

import numpy as np
import torch

from ..config import DecodeConfig
from ..counterfactuals import commits_of
from ..intervene import sub_state
from .base import register_finder


@register_finder("remask-tis", "BoE's remask TIS at each later state, mean percentile among the committed tokens",
                 order=4)
@torch.no_grad()
def remask_tis(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    from ..fidelity import remask_estimates
    from ..policies.selection import candidates, probes
    from ..sampler import build_context, state_at

    cm = commits_of(trace, row)
    idx = {c: i for i, c in enumerate(cm)}
    total, count = np.zeros(len(cm)), np.zeros(len(cm))
    cfg = DecodeConfig.from_dict(trace.config).replace(policy="boe").validate()
    base = cfg.replace(linearize_at="current")
    when = {}  # position -> its latest commit (step) so far
    for k in range(1, trace.num_steps):
        for p in np.flatnonzero(trace.records[k - 1].chosen[row] & ~trace.fixed[row]):
            when[int(p)] = k - 1
        state = sub_state(state_at(model, trace, k), [row], trace.mask_id)
        ctx = build_context(model, state, base, force_graph=True)
        cand, _ = candidates(ctx)
        probe = probes(ctx, cand)
        if not bool(probe.any()):
            ctx.graph = None
            continue
        rt = remask_estimates(ctx, cand, probe, cfg.settings, {"": {}})[""][0]
        ctx.graph = None
        live = [(p, s) for p, s in when.items() if state.canvas[0, p] != trace.mask_id]
        if len(live) < 2:
            continue
        vals = np.array([rt[p] for p, _ in live], np.float64)
        vals = np.nan_to_num(vals, nan=-np.inf)
        pct = (vals[:, None] >= vals[None, :]).sum(1) / len(vals)  # share of tokens at or below it
        for (p, s), v in zip(live, pct):
            i = idx[(s, p)]
            total[i] += v
            count[i] += 1
    # a commit with no later state that has probes (the last steps) gets the neutral percentile
    return np.where(count > 0, total / np.maximum(count, 1), 0.5)
