"""counterfactual-reread: does the runner-up branch end in a canvas the model believes more?

The exact score (`counterfactual`) compares the likelihood of the two *trajectories*, read at
commit time. This one reads the two *final canvases* instead: each branch's finished canvas and the
run's own are read back with their decoded tokens masked in `GROUPS` interleaved groups (one forward
a group, `boe_core.readback.grouped_pll`), and the score is the summed log-probability of the branch
minus the run's. A wrong commit the model wrote confidently early on can look likely along the
trajectory and still leave a canvas whose parts the model doubts when it reads them back.

Cost: the counterfactual branches (as `counterfactual`) plus GROUPS forwards per branch and GROUPS
for the run itself.
"""
from __future__ import annotations

import numpy as np

from ..readback import grouped_pll
from .base import register_finder

GROUPS = 6  # the repair gate's grouping: on Sudoku 6 group reads tell right grids about as well as leave-one-out


@register_finder("counterfactual-reread", f"the runner-up branch's final canvas read back ({GROUPS} groups) "
                 "against the run's", one_pass=False, needs_counterfactuals=True, order=6)
def counterfactual_reread(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    from ..counterfactuals import Counterfactuals, counterfactuals as run

    cf = counterfactuals or Counterfactuals.from_trace(trace, row) or run(model, trace, row, judge=None)
    am = None if trace.attention_mask is None else trace.attention_mask[row]
    decoded = ~trace.fixed[row] if am is None else ~trace.fixed[row] & (np.asarray(am) != 0)
    base, _ = grouped_pll(model, cf.run_final, decoded, am, GROUPS)
    out = np.full(cf.n, np.nan)
    for i in range(cf.n):
        if cf.finals[i, 0] >= 0:  # a branch that was run
            out[i] = grouped_pll(model, cf.finals[i], decoded, am, GROUPS)[0] - base
    return out
