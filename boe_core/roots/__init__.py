"""Find the commit a cascade hangs on: score every decoded commit of a finished run, best suspect
first, with or without a checker.

    from boe_core.roots import find_roots, ROOT_FINDERS
    find_roots(model, trace, row=0, method="leave-one-out")  # [(step, position), ...] best first

Each finder lives in its own module and is registered here, explicitly.
"""
from __future__ import annotations

import time

import numpy as np

from ..counterfactuals import commits_of
from ..errors import ConfigError
from . import (confidence_drop, counterfactual, counterfactual_reread, counterfactual_top, grad_likelihood,  # noqa: F401
               leave_one_out, lowest_confidence, remask_tis, reread_surprise)
from .base import ROOT_FINDERS, RootFinder, register_finder
from .metrics import chance_at, pessimistic_rank
from .truth import Truth, true_root

# the one-pass finder that measured best on the validation runs (sudoku hard_val, confidence, 12
# steps: hit@1 0.14, hit@3 0.41 against lowest-confidence 0.06 / 0.38; see docs/roots.md)
DEFAULT_METHOD = "grad-likelihood"
# the finder that measured best across the root tables' tasks, at the price of rollouts: each runner-up
# branch's final canvas read back, plus the commit's own surprise (docs/roots.md). The explorer leads with it.
BEST_METHOD = "reread-surprise"


def order_of(scores: np.ndarray, commits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Commits by score, highest first; ties: the earlier commit (step, then position) first."""
    s = np.nan_to_num(np.asarray(scores, np.float64), nan=-np.inf)
    keys = sorted(range(len(commits)), key=lambda i: (-s[i], commits[i]))
    return [commits[i] for i in keys]


def score_finders(model, trace, row: int, names, counterfactuals=None, share: bool = True):
    """Yield (name, scores, seconds) for each finder of `names`. A finder built from other finders'
    scores (`RootFinder.combine`) comes after them and is computed from theirs, so an input both
    use runs once; its seconds are its inputs' seconds. `share`: hand `counterfactuals` to every
    finder (False: only to those that need them, so the others are timed on their own)."""
    done, secs = {}, {}
    for name in sorted(names, key=lambda n: ROOT_FINDERS.get(n).combine is not None):
        f = ROOT_FINDERS.get(name)
        t = time.perf_counter()
        if f.combine is not None and all(k in done for k in f.inputs):
            done[name], secs[name] = f.from_scores(done), sum(secs[k] for k in f.inputs)
        else:
            cf = counterfactuals if share or f.needs_counterfactuals else None
            done[name], secs[name] = f.score(model, trace, row, cf), time.perf_counter() - t
        yield name, done[name], secs[name]


def find_roots(model, trace, row: int = 0, method: str | None = None, counterfactuals=None) -> list[tuple[int, int]]:
    """Every decoded commit (step, position) of row `row`, most suspect first, by `method` (a
    registered root finder; default: `DEFAULT_METHOD`)."""
    B = trace.initial_canvas.shape[0]
    if not isinstance(row, int) or isinstance(row, bool) or not (0 <= row < B):
        raise ConfigError("row", row, f"must be an integer in [0, {B})")
    finder = ROOT_FINDERS.get(method or DEFAULT_METHOD)
    return order_of(finder.score(model, trace, row, counterfactuals), commits_of(trace, row))


__all__ = ["BEST_METHOD", "DEFAULT_METHOD", "ROOT_FINDERS", "RootFinder", "chance_at", "find_roots", "order_of",
           "score_finders",
           "pessimistic_rank", "register_finder", "Truth", "true_root"]
