"""The model's belief in a finished canvas, read back a group at a time.

Each decoded token is scored with its group of decoded positions masked (the positions in
`groups` interleaved groups, one masked copy of the canvas each). On Sudoku this tells a right grid
from a wrong one almost as well as masking every cell alone, at a few forwards (docs/ordering_gap.md);
root repair's gate and acceptance and the read-back root finders use it.
"""
from __future__ import annotations

import numpy as np
import torch

from .numerics import suppress


@torch.no_grad()
def grouped_pll(model, canvas: np.ndarray, decoded: np.ndarray, am, groups: int) -> tuple[float, float]:
    """The model's belief in a finished canvas: (sum, min) of the log-probability of every decoded
    token with its group masked (the decoded positions in `groups` interleaved groups, one canvas
    each: `groups` forwards in one batch)."""
    cells = np.flatnonzero(decoded)
    parts = [cells[g::groups] for g in range(groups) if len(cells[g::groups])]
    if not parts:
        return 0.0, 0.0
    dev = model.device
    x = torch.as_tensor(canvas, device=dev).repeat(len(parts), 1)
    for i, part in enumerate(parts):
        x[i, torch.as_tensor(part, device=dev)] = model.mask_id
    a = None if am is None else torch.as_tensor(am, device=dev)[None].expand(len(parts), -1)
    lp = torch.log_softmax(suppress(model.head(model.hidden(model.embed(x), a)), model.suppressed_ids).float(), -1)
    tok = torch.as_tensor(canvas, device=dev)
    read = torch.cat([lp[i, torch.as_tensor(part, device=dev)].gather(1, tok[part][:, None]).squeeze(1)
                      for i, part in enumerate(parts)])
    return float(read.sum()), float(read.min())
