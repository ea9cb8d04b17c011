"""Info-Gain sampling (Info-Gain Sampler, arXiv:2602.18176; LookUM, arXiv:2511.05563): score whole
candidate actions by what they cost now and what they tell the rest, measured exactly.

For an action A (the set of positions committed this step, with their proposals):

    J(A) = IG(A) - C(A),   C(A) = sum_{i in A} H_i,
    IG(A) = sum_{j in M \\ A} H_j(now) - sum_{j in M \\ A} H_j(after writing A),

M the masked positions. IG needs one forward per action; the K actions are evaluated in batched
forwards and the best one is committed (ties: the earlier action, confidence's own first) by
ranking its positions first, so the loop's top-b commits exactly that action.

The K actions, with b the step's count and c_1, c_2, ... the eligible positions by confidence:
    A_1 = {c_1 .. c_b} (what confidence commits),   A_k = {c_1 .. c_(b-1)} ∪ {c_(b-1+k)},  k = 2..K:
each later action swaps confidence's last pick for the next candidate. A fixed-count sampler: its
budget is the number of steps, and each step costs 1 + K forwards.

How it relates to `lookahead` (and what BoE estimates). With b = 1 the actions are single
positions and IG(A) is exactly lookahead's Δ with every other masked position as a probe (ρ = 1);
the two then differ only in the gate. Lookahead combines confidence and Δ by its gate (product
c^γ · minmax(Δ), a confidence threshold, or c + β · rank(Δ)), which rescales Δ per step; here the
immediate cost enters in the same units as the gain (nats), with weight 1 and no normalisation:
an additive gate on -H_i instead of c. With b > 1 lookahead scores each candidate alone and commits
the top-b by the gate, while Info-Gain measures the joint action, so interactions between the b
commits are inside the measurement. BoE estimates lookahead's per-candidate Δ with one backward.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, is_int
from ..knobs import knob
from ..numerics import top_mask
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, no_fallback, register
from .objective import probe_entropy

CHUNK = 32  # canvases per batched forward


@dataclass
class InfoGainSettings:
    k_actions: int = knob(4, "K · candidate actions", "actions evaluated per step (one extra forward each)",
                          kind="int", range=(1, 64), group="actions")

    def validate(self):
        if not is_int(self.k_actions) or not (1 <= self.k_actions <= 64):
            raise ConfigError("k_actions", self.k_actions, "must be an integer in [1, 64]")
        return self


OBJECTIVE = Signal("ig_objective", "J = IG − C of the action", colorscale="RdBu", symmetric=True,
                   description="information gain over the rest minus the committed entropy, for the action "
                               "that differs from confidence's at this position")


def candidate_actions(confidence, eligible, b: torch.Tensor, k: int):
    """(actions (B, K, N) bool, valid (B, K), lead (B, K) the position each action adds last, -1 if none)."""
    B, N = eligible.shape
    order = torch.sort(torch.where(eligible, confidence.double(), torch.full_like(confidence, -1.0, dtype=torch.float64)),
                       dim=1, descending=True, stable=True).indices
    n_el = eligible.sum(1)
    base = top_mask(confidence, eligible, (b - 1).clamp(min=0))  # c_1 .. c_(b-1)
    actions = torch.zeros(B, k, N, dtype=torch.bool, device=eligible.device)
    lead = torch.full((B, k), -1, dtype=torch.long, device=eligible.device)
    for j in range(k):
        rank = (b - 1).clamp(min=0) + j  # 0-based rank of the last pick of action j
        ok = rank < n_el
        pos = order.gather(1, rank.clamp(max=N - 1)[:, None]).squeeze(1)
        a = base.clone()
        a[torch.arange(B, device=a.device), pos] = True
        actions[:, j] = a & ok[:, None]
        lead[:, j] = torch.where(ok, pos, torch.full_like(pos, -1))
    valid = (lead >= 0) & (b > 0)[:, None]
    return actions & valid[..., None], valid, lead


def action_objective(ctx: StepContext, actions: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """J (B, K) float64 for every valid action, -inf elsewhere: one forward per action."""
    adapter, H = ctx.adapter, ctx.stats.entropy.double()
    B, K, N = actions.shape
    J = torch.full((B, K), float("-inf"), dtype=torch.float64, device=actions.device)
    rows, js = valid.nonzero(as_tuple=True)
    for s in range(0, rows.numel(), CHUNK):
        r, j = rows[s:s + CHUNK], js[s:s + CHUNK]
        a = actions[r, j]
        ids = torch.where(a, ctx.stats.proposals[r], ctx.ids[r])
        rest = ctx.masked[r] & ~a
        am = None if ctx.attention_mask is None else ctx.attention_mask[r]
        h = adapter.hidden(adapter.embed(ids), am, None)
        after = probe_entropy(adapter, h, rest).double()
        before = (H[r] * rest).sum(1)
        cost = (H[r] * a).sum(1)
        J[r, j] = (before - after) - cost
    return J


class InfoGainPolicy(Policy):
    name = "infogain"
    description = "Info-Gain: K candidate actions, each scored by its exact entropy reduction over the rest minus its own entropy"
    settings_cls = InfoGainSettings
    signals = (OBJECTIVE,)
    order = 34

    def presets(self):
        return {"Info-Gain (K=4)": {}}

    def score(self, ctx: StepContext) -> PolicyResult:
        K = ctx.settings.k_actions
        actions, valid, lead = candidate_actions(ctx.stats.confidence, ctx.eligible, ctx.b, K)
        scores = masked_scores(ctx.stats.confidence, ctx.eligible)
        if int(valid.sum(1).max()) <= 1:  # one action per row: nothing to choose, no extra forward
            return PolicyResult(scores, no_fallback(ctx), notes=["one candidate action: confidence's"])
        J = action_objective(ctx, actions, valid)
        best = J.argmax(1)  # first maximum: the earlier action on ties
        B = ctx.ids.shape[0]
        chosen = actions[torch.arange(B, device=J.device), best] & valid.any(1)[:, None]
        # the chosen action holds exactly the step's b positions: ranking it first makes top-b commit it
        scores = torch.where(chosen, scores + 2.0, scores)
        signal = torch.full(ctx.ids.shape, float("nan"), device=J.device)
        rr, jj = valid.nonzero(as_tuple=True)
        signal[rr, lead[rr, jj]] = J[rr, jj].float()
        swapped = int((best > 0).sum())
        note = (f"action {int(best[0]) + 1} of {int(valid[0].sum())} (J = {float(J[0, best[0]]):.3f} nats)" if B == 1
                else f"{swapped} of {B} rows took an action other than confidence's")
        return PolicyResult(scores, no_fallback(ctx), signals={"ig_objective": signal},
                            extra_forwards=int(valid.sum(1).max()), notes=[note])


register(InfoGainPolicy())
