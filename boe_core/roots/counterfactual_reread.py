"""counterfactual-reread: does the runner-up branch end in a canvas the model believes more?

The exact score (`counterfactual`) compares the likelihood of the two *trajectories*, read at
commit time. This one reads the two *final canvases* instead: each branch's finished canvas and the
run's own are read back with their decoded tokens masked in `GROUPS` interleaved groups (one forward
a group, `boe_core.readback`), and the score is the summed log-probability of the branch
minus the run's. A wrong commit the model wrote confidently early on can look likely along the
trajectory and still leave a canvas whose parts the model doubts when it reads them back.

Cost: the counterfactual branches (as `counterfactual`) plus GROUPS forwards per branch and GROUPS
for the run itself.
"""
from __future__ import annotations

import numpy as np

from ..readback import grouped_reads
from .base import register_finder

GROUPS = 6  # the repair gate's grouping: on Sudoku 6 group reads tell right grids about as well as leave-one-out


@register_finder("counterfactual-reread", f"the runner-up branch's final canvas read back ({GROUPS} groups) "
                 "against the run's", one_pass=False, needs_counterfactuals=True, order=6)
def counterfactual_reread(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    from ..counterfactuals import Counterfactuals, counterfactuals as run

    cf = counterfactuals or Counterfactuals.from_trace(trace, row) or run(model, trace, row, judge=None)
    am = None if trace.attention_mask is None else trace.attention_mask[row]
    decoded = ~trace.fixed[row] if am is None else ~trace.fixed[row] & (np.asarray(am) != 0)
    ran = np.flatnonzero(cf.finals[:, 0] >= 0)  # the branches that were run
    # the run's canvas and every branch's end, read in one batch
    sums = grouped_reads(model, np.concatenate([cf.run_final[None], cf.finals[ran]]), decoded, am, GROUPS).sum(1, dtype=np.float64)
    out = np.full(cf.n, np.nan)
    out[ran] = sums[1:] - sums[0]
    return out
