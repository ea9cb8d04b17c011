"""The measured root of a run that ends wrong: the earliest wrong commit whose correction (the
reference token written at its commit step, then the run's own policy for the steps that remain)
makes the answer right. Some failing runs have none; they are counted apart."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..counterfactuals import branch_commits, commits_of


@dataclass
class Truth:
    row: int
    wrong: list = field(default_factory=list)  # (step, position) of every commit differing from the reference
    fixing: list = field(default_factory=list)  # those whose single correction makes the answer right
    forwards: int = 0

    @property
    def root(self) -> tuple[int, int] | None:
        return self.fixing[0] if self.fixing else None


def true_root(model, trace, row: int, target: np.ndarray, judge, batch: int = 64, max_wrong: int | None = None) -> Truth:
    """`target` (N,): the reference canvas of the row; `judge(final (N,)) -> bool`. Every wrong
    commit (at most the first `max_wrong`) is corrected in its own branch, batched per step."""
    wrong = [(s, p) for s, p in commits_of(trace, row)
             if int(trace.records[s].canvas_after[row, p]) != int(target[p])]
    if max_wrong is not None:
        wrong = wrong[:max_wrong]
    edits = [(s, p, int(target[p]), float("nan")) for s, p in wrong]
    finals, _, _, forwards, _ = branch_commits(model, trace, row, edits, batch, replay=False)
    fixing = [w for w, f in zip(wrong, finals) if bool(judge(f))]
    return Truth(row, wrong, fixing, forwards)
