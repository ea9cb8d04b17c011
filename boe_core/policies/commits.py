"""Shared pieces of the adaptive samplers, which decide how many positions to commit, not only which.

A policy that sets `PolicyResult.commit` commits exactly those eligible positions this step; a row
with eligible positions but nothing chosen gets its top-1 by confidence. The rules below add that
top-1 themselves, so a rule alone says which positions and how many (and its test can pin both).
"""
from __future__ import annotations

import torch

from ..numerics import top_mask


def with_top1(commit: torch.Tensor, eligible: torch.Tensor, confidence: torch.Tensor):
    """(commit plus each empty row's most confident eligible position, rows that needed it)."""
    commit = commit & eligible
    empty = eligible.any(1) & ~commit.any(1)
    top1 = top_mask(confidence, eligible, 1)
    return commit | (empty[:, None] & top1), empty


def count_note(counts: torch.Tensor, reason: str, active: torch.Tensor | None = None) -> str:
    """'7 cleared τ = 0.9' for one sequence; the spread over the rows for a batch (only the
    `active` rows, those with eligible positions, when given)."""
    if active is not None and active.numel() > 1:
        counts = counts[active]
    c = [int(v) for v in counts.reshape(-1).tolist()]
    if not c:
        return f"0 {reason}"
    if len(c) == 1:
        return f"{c[0]} {reason}"
    lo, hi = min(c), max(c)
    spread = f"{lo}" if lo == hi else f"{lo}–{hi}"
    return f"{spread} per row ({sum(c)} in {len(c)} rows) {reason}"


def fallback_note(rows: torch.Tensor, why: str) -> list[str]:
    """A note for the rows that fell back to their top-1 by confidence (none when no row did)."""
    n = int(rows.sum())
    if n == 0:
        return []
    who = "1 by top-1 confidence" if rows.numel() == 1 else f"{n} row(s) committed their top-1 by confidence"
    return [f"{who} ({why})"]


def fmt(x: float) -> str:
    """A knob value as the notes write it (0.9, 0.05, 1e-3)."""
    return f"{x:.3g}"
