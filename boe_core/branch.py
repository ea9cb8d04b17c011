"""Counterfactuals: continue a trace's prefix under another policy, and compare two trajectories."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import DecodeConfig
from .policies import get_policy
from .sampler import fill_vocab, iterate, state_at
from .trace import Trace


def branch(adapter, trace: Trace, at_step: int, policy: str = "confidence", callback=None, **overrides) -> Trace:
    """A new trace whose steps < at_step are the original ones and whose later steps are decoded
    from the same canvas by `policy` (other config fields may be overridden)."""
    config = DecodeConfig.from_dict(trace.config).replace(policy=policy, **overrides).validate()
    state = state_at(adapter, trace, at_step, revise=get_policy(policy).revises(config.settings))
    out = Trace(model=trace.model, config=config.to_dict(), initial_canvas=trace.initial_canvas,
                fixed=trace.fixed, attention_mask=trace.attention_mask, schedule=trace.schedule,
                mask_id=trace.mask_id, records=list(trace.records[:at_step]),
                id_to_token=dict(trace.id_to_token),
                meta={**trace.meta, "branched_from": {"step": at_step, "policy": trace.config.get("policy")}})
    for record in iterate(adapter, state, config):
        out.records.append(record)
        if callback is not None:
            callback(record)
    return fill_vocab(adapter, out)


@dataclass
class TrajectoryDiff:
    first_divergent_step: int | None  # first step whose commits or remasks differ (None: identical)
    row: int | None
    positions_a: list[int]  # positions committed by a at that step
    positions_b: list[int]
    tokens_a: list[int]
    tokens_b: list[int]
    entropy_a: np.ndarray  # (steps,) masked entropy before each step, row `row` (or 0)
    entropy_b: np.ndarray
    final_differs: np.ndarray  # (N,) bool for that row
    remasked_a: list[int] = field(default_factory=list)  # positions a took back at that step
    remasked_b: list[int] = field(default_factory=list)

    def describe(self, trace: Trace | None = None) -> str:
        if self.first_divergent_step is None:
            return "The trajectories are identical."
        tok = (lambda ids: trace.tokens(ids)) if trace else (lambda ids: [str(i) for i in ids])
        back = ""
        if self.remasked_a or self.remasked_b:
            back = f" A remasks {self.remasked_a}, B remasks {self.remasked_b}."
        return (f"First divergent commit at step {self.first_divergent_step} (row {self.row}): "
                f"A commits {list(zip(self.positions_a, tok(self.tokens_a)))}, "
                f"B commits {list(zip(self.positions_b, tok(self.tokens_b)))}.{back} "
                f"Final canvases differ at {int(self.final_differs.sum())} positions.")


def diff(a: Trace, b: Trace, row: int = 0) -> TrajectoryDiff:
    first, where = None, row
    for ra, rb in zip(a.records, b.records):
        ca = (ra.chosen[row], ra.canvas_after[row], ra.remasked[row])
        cb = (rb.chosen[row], rb.canvas_after[row], rb.remasked[row])
        if not all(np.array_equal(x, y) for x, y in zip(ca, cb)):
            first = ra.step
            break
    if first is None:
        pa = pb = ta = tb = xa = xb = []
    else:
        ra, rb = a.records[first], b.records[first]
        pa = np.flatnonzero(ra.chosen[row]).tolist()
        pb = np.flatnonzero(rb.chosen[row]).tolist()
        ta = ra.canvas_after[row, pa].tolist()
        tb = rb.canvas_after[row, pb].tolist()
        xa = np.flatnonzero(ra.remasked[row]).tolist()
        xb = np.flatnonzero(rb.remasked[row]).tolist()
    return TrajectoryDiff(first, where if first is not None else None, pa, pb, ta, tb,
                          a.masked_entropy_curve()[:, row], b.masked_entropy_curve()[:, row],
                          a.final_canvas[row] != b.final_canvas[row], xa, xb)
