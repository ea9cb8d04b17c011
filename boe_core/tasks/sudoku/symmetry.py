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
def _view_table(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(src (MAX_VIEWS, 81), digit perm (MAX_VIEWS, 9): 0-based view digit of each canvas digit)."""
    vs = views()
    src = torch.tensor([v.src for v in vs], dtype=torch.long, device=device).reshape(MAX_VIEWS, 81)
    perm = torch.tensor([v.digit_map[1:] for v in vs], dtype=torch.long, device=device).reshape(MAX_VIEWS, 9) - 1
    return src, perm


def read_in_views(logits_fn, ids: torch.Tensor, digit_ids: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """(R, 81, 9) float32 log-probabilities over the digits 1..9: row r of `ids` (R, 81) read in
    view `which[r]` (an index into `views()`) and mapped back to the canvas's cells and digits.
    `logits_fn(ids) -> (R, 81, V)` reads all the rows in one call; `digit_ids` (9,) the token ids of
    '1'..'9'. Any token that is not a digit (the mask) stays where the view puts it."""
    R = ids.shape[0]
    if R == 0:
        return torch.zeros(0, 81, 9, device=ids.device)
    table_src, table_perm = _view_table(str(ids.device))
    src, perm = table_src[which], table_perm[which]  # (R, 81), (R, 9)
    moved = ids.gather(1, src)  # view cell j holds canvas cell src[j]
    match = moved[..., None] == digit_ids  # (R, 81, 9)
    digit = match.float().argmax(-1)  # 0-based canvas digit (0 where not a digit)
    relabelled = digit_ids[perm.gather(1, digit)]
    mapped = torch.where(match.any(-1), relabelled, moved)
    lp = logits_fn(mapped)[..., digit_ids].float().log_softmax(-1)  # (R, 81, 9) in view cells and digits
    back = torch.empty_like(lp).scatter_(1, src[..., None].expand_as(lp), lp)  # back to canvas cells
    return back.gather(-1, perm[:, None, :].expand_as(back))  # canvas digit d is view digit perm[d]


def view_log_probs(logits_fn, ids: torch.Tensor, digit_ids: torch.Tensor, n_views: int) -> torch.Tensor:
    """(n_views, B, 81, 9) float32: `read_in_views` of every row of `ids` (B, 81) in each of the
    first `n_views` views, all in one call of `logits_fn`."""
    B = ids.shape[0]
    if n_views == 0:
        return torch.zeros(0, B, 81, 9, device=ids.device)
    which = torch.arange(n_views, device=ids.device).repeat_interleave(B)  # view-major, like the result
    return read_in_views(logits_fn, ids.repeat(n_views, 1), digit_ids, which).reshape(n_views, B, 81, 9)
