"""Symmetric views of a Sudoku canvas: the same puzzle with its digits relabelled, rows and columns
permuted inside their bands and stacks, bands and stacks permuted, and maybe transposed. Every
view of a valid grid is valid, and a puzzle's solution moves with it.

A trained model is not exactly invariant to these maps: at a state where it hesitates, another view
of the same canvas is often sure of a cell that this one is not (issue #29). The planner policy
reads a few views and averages what they say (`view_log_probs`). The views are fixed (drawn once
from a fixed seed), so a decode does not depend on the batch or on a random stream.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import torch

MAX_VIEWS = 16


@dataclass(frozen=True)
class View:
    src: tuple  # src[j]: the canvas cell that lands at view cell j
    digit_map: tuple  # digit_map[d]: the digit that d becomes (0 -> 0)


def line_perm(rng: random.Random) -> list[int]:
    """A permutation of the 9 rows (or columns) that keeps each band (stack) together."""
    bands = [0, 1, 2]
    rng.shuffle(bands)
    out = []
    for b in bands:
        inner = [0, 1, 2]
        rng.shuffle(inner)
        out += [3 * b + k for k in inner]
    return out


@lru_cache(maxsize=1)
def views() -> tuple[View, ...]:
    """The MAX_VIEWS fixed views, in the order they are used (view k of a run is always the same)."""
    out = []
    for k in range(MAX_VIEWS):
        rng = random.Random(29_000 + k)
        rows, cols = line_perm(rng), line_perm(rng)
        src = [rows[r] * 9 + cols[c] for r in range(9) for c in range(9)]
        if rng.random() < 0.5:
            src = [src[c * 9 + r] for r in range(9) for c in range(9)]
        digits = list(range(1, 10))
        rng.shuffle(digits)
        out.append(View(tuple(src), tuple([0] + digits)))
    return tuple(out)


@lru_cache(maxsize=8)
def _view_index(n_views: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(src (K, 81), digit perm (K, 9): 0-based view digit of each canvas digit) of the first K views."""
    vs = views()[:n_views]
    src = torch.tensor([v.src for v in vs], dtype=torch.long, device=device).reshape(n_views, 81)
    perm = torch.tensor([v.digit_map[1:] for v in vs], dtype=torch.long, device=device).reshape(n_views, 9) - 1
    return src, perm


def view_log_probs(logits_fn, ids: torch.Tensor, digit_ids: torch.Tensor, n_views: int) -> torch.Tensor:
    """(n_views, B, 81, 9) float32 log-probabilities over the digits 1..9, read in each of the first
    `n_views` views of `ids` (B, 81) and mapped back to the canvas's cells and digits.
    `logits_fn(ids) -> (B', 81, V)` reads all the views in one call (B' = n_views · B); `digit_ids`
    (9,) the token ids of '1'..'9'. Any token that is not a digit (the mask) stays where the view
    puts it."""
    B = ids.shape[0]
    if n_views == 0:
        return torch.zeros(0, B, 81, 9, device=ids.device)
    src, perm = _view_index(n_views, str(ids.device))
    moved = ids[:, src].transpose(0, 1)  # (K, B, 81): view cell j holds canvas cell src[j]
    match = moved[..., None] == digit_ids  # (K, B, 81, 9)
    digit = match.float().argmax(-1)  # 0-based canvas digit (0 where not a digit)
    relabelled = digit_ids[perm[:, None, None, :].expand(-1, B, 81, -1).gather(-1, digit[..., None]).squeeze(-1)]
    mapped = torch.where(match.any(-1), relabelled, moved)
    lp = logits_fn(mapped.reshape(n_views * B, 81))[..., digit_ids].float().log_softmax(-1).reshape(n_views, B, 81, 9)
    back = torch.empty_like(lp).scatter_(2, src[:, None, :, None].expand_as(lp), lp)  # back to canvas cells
    return back.gather(-1, perm[:, None, None, :].expand_as(back))  # canvas digit d is view digit perm[d]
