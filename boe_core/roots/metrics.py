"""hit@k of a ranking against a known root, with ties counted against the root, and its chance level."""
from __future__ import annotations

import numpy as np


def pessimistic_rank(scores, root: int) -> int:
    """1-based rank of commit `root` when every commit scoring at least as high ranks before it."""
    s = np.nan_to_num(np.asarray(scores, np.float64), nan=-np.inf)
    return int((s >= s[root]).sum())


def chance_at(n: int, k: int) -> float:
    """P(the root is in the first k) under a uniform ranking of n commits."""
    return min(k, n) / n if n else 0.0
