"""BoE with revision: BoE's commits, and the committed token the rest hinges on most goes back to
[MASK] when its estimated drop clears a threshold.

BoE's one backward gives dF/de at every position. At a committed token j,
remask TIS_j = -<dF/de_j, e_[MASK] - e_j> estimates how much the entropy of the masked positions
(the probes) would fall if j were taken back (`boe.remask_influence`; j's own entropy, which would
join the masked set, is not counted). A large value says the rest of the canvas is uncertain
because of j: a candidate for the root of a cascade. Per step at most one token goes back (the
largest remask TIS in the current block, if it clears theta); each position at most once; at most
`budget` per row and run, so decoding ends. No extra forward or backward: the signal is BoE's own.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite, is_int
from ..knobs import knob
from .base import register
from .boe import BoEPolicy, BoESettings
from .revision import revisable


@dataclass
class BoEReviseSettings(BoESettings):
    # theta chosen on Sudoku val (results/sudoku/revision_val.csv; 0.5, 1 and 2 within noise, 2 best)
    theta: float = knob(2.0, "θ · remask threshold (nats)", "take back the committed token whose estimated "
                        "entropy drop (remask TIS) is largest when it is at least θ", range=(0.0, 100.0),
                        step=0.05, group="revision")
    budget: int = knob(2, "remask budget per run", "at most this many tokens go back per row and run",
                       kind="int", range=(0, 64), group="revision")
    use_aqa: bool = knob(False, "ActiveQueryAttention (sparse backward)", "off by default: the sparse "
                         "backward leaves the gradient at committed tokens partial", group="kernel")

    def validate(self):
        super().validate()
        if not finite(self.theta) or self.theta < 0:
            raise ConfigError("theta", self.theta, "must be a finite number >= 0")
        if not is_int(self.budget) or self.budget < 0:
            raise ConfigError("budget", self.budget, "must be an integer >= 0")
        return self


def revise_pick(remask_tis: torch.Tensor, pool: torch.Tensor, remasks: torch.Tensor, theta: float,
                budget: int) -> torch.Tensor:
    """(B, N) bool: per row, the pool position with the largest remask TIS if it is >= theta, the
    position was never remasked and the row has budget left."""
    ok = pool & (remasks == 0) & torch.isfinite(remask_tis)
    ok &= (remasks.sum(1) < budget)[:, None]
    v = torch.where(ok, remask_tis.double(), torch.full_like(remask_tis, float("-inf"), dtype=torch.float64))
    best = v.max(1, keepdim=True)
    pick = (torch.arange(v.shape[1], device=v.device)[None] == best.indices) & (best.values >= theta)
    return pick & ok


class BoERevisePolicy(BoEPolicy):
    name = "boe-revise"
    description = "BoE, and the committed token the rest hinges on most goes back to [MASK] (remask TIS ≥ θ)"
    settings_cls = BoEReviseSettings
    order = 5

    def presets(self):
        return {"BoE revise (θ=2, 2 per run)": {}}

    def score(self, ctx):
        res = super().score(ctx)
        rt = res.signals.get("remask_tis")
        if rt is not None and not ctx.final and ctx.settings.budget > 0:
            # a row that fell back was not steered (nothing to probe): its remask TIS is not a
            # measurement, so it revises nothing, as it would decoded alone
            steered = ~res.fallback.to(rt.device)[:, None]
            res.remask = revise_pick(rt, revisable(ctx) & steered, ctx.remasks, ctx.settings.theta,
                                     ctx.settings.budget)
        return res


register(BoERevisePolicy())
