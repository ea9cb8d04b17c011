"""What the remasking policies share: the committed tokens a step may take back (blocks hold, so
those of the current block) and how many."""
from __future__ import annotations

import torch

from ..numerics import top_mask
from .base import StepContext


def revisable(ctx: StepContext) -> torch.Tensor:
    """(B, N) bool: tokens committed by the run (never prompt, fixed cells or padding) inside the
    current block; in a row with nothing masked left, all its committed tokens (decided per row, so
    one unfinished row does not narrow what a finished one may revise)."""
    committed = ctx.committed
    if ctx.block_span is None:
        return committed
    s, e = ctx.block_span
    inside = torch.zeros_like(committed)
    inside[:, s:e] = True
    finished = ~ctx.masked.any(dim=1, keepdim=True)  # (B, 1)
    return committed & (inside | finished)


def lowest(values: torch.Tensor, allowed: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Per row, the (at most) k allowed positions with the smallest values (ties by position)."""
    return top_mask(-values.double(), allowed, k)
