"""leave-one-out: each committed token masked alone in the final canvas; the model's surprise at it,
-log p(token | the rest), from one batched forward."""
from __future__ import annotations

import numpy as np
import torch

from ..counterfactuals import commits_of
from .base import log_probs, register_finder


@register_finder("leave-one-out", "-log p(token | the rest of the final canvas), each token masked alone", order=3)
@torch.no_grad()
def leave_one_out(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    cm = commits_of(trace, row)
    if not cm:
        return np.zeros(0)
    dev = model.device
    final = torch.as_tensor(trace.final_canvas[row], device=dev)
    pos = torch.tensor([p for _, p in cm], device=dev)
    tok = torch.tensor([int(trace.records[s].canvas_after[row, p]) for s, p in cm], device=dev)
    ids = final.repeat(len(cm), 1)
    ids[torch.arange(len(cm)), pos] = trace.mask_id
    am = None if trace.attention_mask is None else torch.as_tensor(trace.attention_mask[row], device=dev).repeat(len(cm), 1)
    return -log_probs(model, ids, am, pos, tok).double().cpu().numpy()
