"""counterfactual-top: the exact counterfactual score, spent only where a cheap ranking points.

grad-likelihood (one backward) ranks every commit; the first `TOP_M` of them get their exact g_j
(runner-up branches continued with the run's policy, `boe_core.counterfactuals`), and rank first
by it. The rest keep grad-likelihood's order behind them. On the validation runs (sudoku hard_val,
confidence, 12 steps) the exact score's root, when it ranks in its first 3, was almost always in
grad-likelihood's first 12, so 12 branches of 54 recover its hit@3 (docs/roots.md).
"""
from __future__ import annotations

import numpy as np

from ..counterfactuals import commits_of, counterfactuals as run_counterfactuals
from .base import register_finder
from .grad_likelihood import grad_scores

TOP_M = 12  # chosen on sudoku hard_val: the smallest m whose hit@3 equals the exact score's
BEHIND = -1e11  # every commit outside the top scores below this (its exact g is above it)


@register_finder("counterfactual-top", f"exact g_j on grad-likelihood's first {TOP_M} commits, the rest behind them",
                 one_pass=False, order=4)
def counterfactual_top(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    return top_scores(model, trace, row, TOP_M, counterfactuals)


def top_scores(model, trace, row: int, m: int, counterfactuals=None) -> np.ndarray:
    cheap = grad_scores(model, trace, row, 0.0)
    n = len(cheap)
    if n == 0:
        return cheap
    order = np.lexsort((np.arange(n), -np.nan_to_num(cheap, nan=-np.inf)))  # best first, ties: earlier commit
    top = order[:m]
    exact = _exact_g(model, trace, row, top, counterfactuals)
    out = np.empty(n)
    # behind the top: grad-likelihood's order, as ranks far below any trajectory log-likelihood change
    out[order] = 10 * BEHIND - np.arange(n, dtype=np.float64)
    out[top] = np.nan_to_num(exact, nan=BEHIND)
    return out


def _exact_g(model, trace, row: int, idx: np.ndarray, counterfactuals=None) -> np.ndarray:
    """g_j for the commits `idx` (indices into commits_of): from `counterfactuals` when given, else
    by continuing only those branches (`boe_core.counterfactuals` on that subset)."""
    if counterfactuals is not None and counterfactuals.complete:
        return np.asarray(counterfactuals.g, np.float64)[idx]
    cm = commits_of(trace, row)
    cf = run_counterfactuals(model, trace, row, judge=False, store=False, commits=[cm[i] for i in idx])
    # probabilities floored as the other finders floor them: a runner-up of probability 0 stays ranked
    return ((np.log(np.maximum(cf.q, 1e-45)) + cf.loglik_alt)
            - (np.log(np.maximum(cf.p, 1e-45)) + cf.loglik_run))
