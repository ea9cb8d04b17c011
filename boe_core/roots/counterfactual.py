"""counterfactual: the exact trajectory-likelihood change g_j of taking the runner-up
(`boe_core.counterfactuals`); rollouts, not one pass."""
from __future__ import annotations

import numpy as np

from .base import register_finder


@register_finder("counterfactual", "exact g_j = (log q + L') - (log p + L_s) from rollouts", one_pass=False,
                 needs_counterfactuals=True, order=5)
def counterfactual(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    from ..counterfactuals import Counterfactuals, counterfactuals as run

    cf = counterfactuals or Counterfactuals.from_trace(trace, row) or run(model, trace, row, judge=None)
    return cf.g
