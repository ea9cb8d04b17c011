"""reread-surprise: the read-back of the counterfactual's end, plus how unsure the commit was.

`counterfactual-reread` finds the root on grids and on bio but not on arith-cot, where the model
cannot check a finished sum by re-reading it and a root is a character forced in at low
confidence. Lowest confidence finds those. This finder adds the two, in nats:

    score_j = reread_j - WEIGHT * log p_j

(reread_j: the branch's grouped read-back minus the run's; p_j: the commit's confidence).
"""
from __future__ import annotations

import numpy as np

from .base import ROOT_FINDERS, register_finder

# chosen on the validation runs only (sudoku hard_val and arith-cot val, confidence): the weight
# whose smaller hit@1 over the two sets is largest (0.71 and 0.70 at 8; `python -m boe_core.bench roots-weight`)
WEIGHT = 8.0


def _combine(s: dict) -> np.ndarray:
    p = -np.asarray(s["lowest-confidence"], np.float64)  # lowest-confidence scores are -p
    return np.asarray(s["counterfactual-reread"], np.float64) - WEIGHT * np.log(np.maximum(p, 1e-45))


@register_finder("reread-surprise", f"counterfactual-reread - {WEIGHT:g} x log p at commit (the read-back, "
                 "and how unsure the commit was)", one_pass=False, needs_counterfactuals=True, order=7,
                 inputs=("counterfactual-reread", "lowest-confidence"), combine=_combine)
def reread_surprise(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    return _combine({name: ROOT_FINDERS.get(name).score(model, trace, row, counterfactuals)
                     for name in ("counterfactual-reread", "lowest-confidence")})
