"""lowest-confidence: the commit the model was least sure of, when it was made."""
from __future__ import annotations

import numpy as np

from ..counterfactuals import commits_of
from .base import register_finder


@register_finder("lowest-confidence", "lowest confidence at commit first (free: read from the trace)", order=1)
def lowest_confidence(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    return np.array([-float(trace.records[s].confidence[row, p]) for s, p in commits_of(trace, row)])
