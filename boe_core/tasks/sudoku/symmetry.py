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


def view_log_probs(logits_fn, ids: torch.Tensor, digit_ids: torch.Tensor, n_views: int) -> torch.Tensor:
    """(n_views, B, 81, 9) float32 log-probabilities over the digits 1..9, read in each of the first
    `n_views` views of `ids` (B, 81) and mapped back to the canvas's cells and digits.
    `logits_fn(ids) -> (B, 81, V)`; `digit_ids` (9,) the token ids of '1'..'9'. Any token that is
    not a digit (the mask) stays where the view puts it."""
    V = int(digit_ids.max()) + 1
    to_digit = torch.zeros(max(V, int(ids.max()) + 1), dtype=torch.long, device=ids.device)
    to_digit[digit_ids] = torch.arange(1, 10, device=ids.device)
    is_digit = torch.zeros_like(to_digit, dtype=torch.bool)
    is_digit[digit_ids] = True
    out = []
    for view in views()[:n_views]:
        src = torch.tensor(view.src, device=ids.device)
        dmap = torch.tensor(view.digit_map, device=ids.device)
        moved = ids[:, src]
        mapped = torch.where(is_digit[moved], digit_ids[(dmap[to_digit[moved]] - 1).clamp(min=0)], moved)
        lp = logits_fn(mapped)[..., digit_ids].float().log_softmax(-1)  # (B, 81, 9): view cells, view digits
        back = torch.empty_like(lp)
        back[:, src] = lp  # view cell j is canvas cell src[j]
        out.append(back[..., dmap[1:] - 1])  # canvas digit d is view digit dmap[d]
    return torch.stack(out) if out else torch.zeros(0, *ids.shape, 9)
