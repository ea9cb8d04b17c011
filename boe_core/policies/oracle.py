"""The oracle order: a ceiling that reads the answer, not a decoder.

At each step it commits, among the eligible masked positions, the most confident ones whose
proposal (the argmax at temperature 0) is the answer's token; only when fewer than b proposals are
right does it fill the step with the most confident wrong ones. The model's proposals are untouched,
only the order is chosen, so its solve rate is what the order alone could reach with this model:
the gap to confidence is what the order loses (issue #29, docs/ordering_gap.md).

It needs the answer (`StepContext.target`: the bench passes the task's `answer_canvas`); without
one the sampler refuses to start it (a ConfigError), so it never runs on free text. Tables name it
"oracle (reads the answer)" so that it is never read as a policy one could ship.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from ..knobs import knob
from ..numerics import top_mask
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, register

LABEL = "oracle (reads the answer)"
RIGHT = Signal("oracle_right", "proposal is right (oracle)", kind="bool", overlay=False,
               description="eligible positions whose proposal is the answer's token (read from the answer)")


@dataclass
class OracleSettings:
    only_right: bool = knob(False, "commit only right proposals", "off: b positions every step, the right ones "
                            "first (the same count as every fixed-count policy); on: at most b, only right "
                            "ones (at least one), the rest left to later steps of the same budget",
                            group="oracle")

    def validate(self):
        if not isinstance(self.only_right, bool):
            raise ConfigError("only_right", self.only_right, "must be true or false")
        return self


def right_proposals(ctx: StepContext) -> torch.Tensor:
    """(B, N) bool: eligible positions whose proposal equals the answer's token."""
    if ctx.target is None:
        raise ConfigError("policy", OraclePolicy.name, "reads the answer, and this step has none (StepContext.target)")
    return ctx.eligible & (ctx.stats.proposals == ctx.target.to(ctx.stats.proposals.device))


class OraclePolicy(Policy):
    name = "oracle"
    order = 90
    description = f"{LABEL}: the most confident masked positions whose proposal is right, first — a ceiling"
    signals = (RIGHT,)
    settings_cls = OracleSettings
    reads_answer = True

    def presets(self):
        return {LABEL: {}}

    def score(self, ctx: StepContext) -> PolicyResult:
        right = right_proposals(ctx)
        conf = ctx.stats.confidence.double()
        # right proposals in [1, 2], wrong ones in [-2, -1]: every right one goes before any wrong one
        scores = masked_scores(torch.where(right, 1.0 + conf, conf - 2.0), ctx.eligible)
        # a row with eligible positions and no right proposal: the order can no longer save it
        lost = ctx.eligible.any(1) & ~right.any(1)
        commit = None
        if ctx.settings is not None and ctx.settings.only_right:
            # the top-b right proposals; a row with none gets its top-1 by confidence from the sampler
            commit = top_mask(conf, right, ctx.b)
        return PolicyResult(scores, lost, {RIGHT.name: right}, commit=commit)


register(OraclePolicy())
