"""Exact one-step lookahead search: reveal each candidate in turn (one extra forward each) and
measure the real drop of the probe entropy. BoE estimates the same quantity with one backward."""
from __future__ import annotations

from dataclasses import asdict, fields

import torch

from ..signals import Signal
from .base import StepContext, register
from .boe import BoESettings
from .objective import probe_entropy
from .selection import CANDIDATES, PROBES, EntropyDropPolicy, EntropyDropSettings

CHUNK = 32  # variants per batched forward

DELTA = Signal("delta", "exact drop Δ", colorscale="RdBu", symmetric=True,
               description="F(now) − F(after committing the candidate): the exact one-step drop of the probe entropy")


def exact_entropy_drop(ctx: StepContext, cand: torch.Tensor, probe: torch.Tensor) -> torch.Tensor:
    """Delta_i = F(x_t) - F(x_t with x_i := proposal_i) for every candidate i; NaN elsewhere."""
    adapter = ctx.adapter
    f_before = (ctx.stats.entropy * probe).sum(1)
    rows, cols = cand.nonzero(as_tuple=True)
    delta = torch.full(ctx.ids.shape, float("nan"), device=ctx.ids.device)
    for s in range(0, rows.numel(), CHUNK):
        r, c = rows[s:s + CHUNK], cols[s:s + CHUNK]
        ids = ctx.ids[r].clone()
        ids[torch.arange(r.numel(), device=ids.device), c] = ctx.stats.proposals[r, c]
        am = None if ctx.attention_mask is None else ctx.attention_mask[r]
        h = adapter.hidden(adapter.embed(ids), am, None)
        f_after = probe_entropy(adapter, h, probe[r])
        delta[r, c] = (f_before[r] - f_after).float()
    return delta


class LookaheadPolicy(EntropyDropPolicy):
    name = "lookahead"
    description = "exact one-step lookahead over the top-r candidates (r extra forwards)"
    signals = (DELTA, CANDIDATES, PROBES)
    order = 20

    def presets(self):
        """Exact search with BoE's default candidates, probes and gate: the objective BoE estimates."""
        shared = {f.name for f in fields(EntropyDropSettings)}
        as_boe = {k: v for k, v in asdict(BoESettings()).items() if k in shared}
        return {"lookahead (exact, slow)": as_boe,
                "lookahead gated (threshold)": {**as_boe, "gate": "threshold", "tau_c": 0.9}}

    def entropy_drop(self, ctx, cand, probe):
        delta = exact_entropy_drop(ctx, cand, probe)
        return delta, dict(signals={"delta": delta}, extra_forwards=int(cand.sum(1).max()))


register(LookaheadPolicy())
