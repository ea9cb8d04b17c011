"""confidence-drop: how much less likely a committed token looks when re-read at the later steps
(masked alone on each later canvas) than when it was committed: log p_commit - mean_k log p_k.
The records hold later distributions only for masked positions, so the re-reads are forwards: one
canvas per (commit, later step), batched."""
from __future__ import annotations

import numpy as np
import torch

from ..counterfactuals import commits_of
from .base import log_probs, register_finder


@register_finder("confidence-drop", "commit confidence minus the mean re-read probability on later canvases "
                                    "(log scale)", order=2)
@torch.no_grad()
def confidence_drop(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    cm = commits_of(trace, row)
    T = trace.num_steps
    pairs = [(i, k) for i, (s, _) in enumerate(cm) for k in range(s, T)]  # canvas after step k >= s
    if not pairs:
        return np.zeros(0)
    dev = model.device
    canv = torch.as_tensor(np.stack([r.canvas_after[row] for r in trace.records]), device=dev)
    which = torch.tensor([i for i, _ in pairs], device=dev)
    ids = canv[torch.tensor([k for _, k in pairs], device=dev)].clone()
    pos = torch.tensor([cm[i][1] for i, _ in pairs], device=dev)
    tok = torch.tensor([int(trace.records[cm[i][0]].canvas_after[row, cm[i][1]]) for i, _ in pairs], device=dev)
    ids[torch.arange(len(pairs)), pos] = trace.mask_id
    am = None if trace.attention_mask is None else torch.as_tensor(trace.attention_mask[row], device=dev).repeat(len(pairs), 1)
    lp = log_probs(model, ids, am, pos, tok).double().cpu().numpy()
    mean = np.bincount(which.cpu().numpy(), lp, len(cm)) / np.bincount(which.cpu().numpy(), minlength=len(cm))
    commit = np.log(np.maximum([float(trace.records[s].confidence[row, p]) for s, p in cm], 1e-45))
    return commit - mean
