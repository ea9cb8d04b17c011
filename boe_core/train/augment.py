"""Symmetry augmentation of 9x9 Sudoku grids for training: transforms that keep a grid valid and a
puzzle's solution unique (digit relabelling, row / column permutations within bands / stacks,
band / stack permutations, transpose). `augment_batch` draws a fresh one per row of a training
batch; `Symmetry` / `random_symmetry` are the same transforms on one grid string."""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ..tasks.sudoku import normalize_grid
from ..tasks.sudoku.symmetry import line_perm


@dataclass(frozen=True)
class Symmetry:
    """A validity-preserving transform: out[r][c] = digit_map[in[row_perm[r]][col_perm[c]]], then
    optionally transposed. digit_map[0] = 0 keeps blanks blank."""
    row_perm: tuple
    col_perm: tuple
    digit_map: tuple
    transpose: bool = False

    def cell_perm(self) -> list[int]:
        """src[i]: the source cell that lands at output cell i."""
        src = [self.row_perm[r] * 9 + self.col_perm[c] for r in range(9) for c in range(9)]
        if self.transpose:
            src = [src[c * 9 + r] for r in range(9) for c in range(9)]
        return src

    def apply(self, grid: str) -> str:
        g = normalize_grid(grid)
        dm = self.digit_map
        return "".join(str(dm[int(g[j])]) for j in self.cell_perm())


def random_symmetry(rng=None) -> Symmetry:
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    digits = list(range(1, 10))
    rng.shuffle(digits)
    return Symmetry(tuple(line_perm(rng)), tuple(line_perm(rng)), tuple([0] + digits), rng.random() < 0.5)


def _batched_line_perm(B: int, g: torch.Generator) -> torch.Tensor:
    bands = torch.rand(B, 3, generator=g).argsort(-1)            # (B,3)
    inner = torch.rand(B, 3, 3, generator=g).argsort(-1)         # (B,3,3)
    return (3 * bands[:, :, None] + inner).reshape(B, 9)


def augment_batch(digits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Batched random symmetries for training. digits: (B, 81) long with values 1..9 (0 = blank is
    kept blank). Each row gets its own random relabelling, row/col/band/stack permutation and
    transpose."""
    return augment_together(digits, generator=generator)[0]


def augment_together(*grids: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """`augment_batch` applied to several (B, 81) digit tensors with the *same* symmetry per row
    (a state and its solution, say). One tensor draws exactly what `augment_batch` draws."""
    B = grids[0].shape[0]
    g = generator
    rp = _batched_line_perm(B, g)
    cp = _batched_line_perm(B, g)
    src = rp[:, :, None] * 9 + cp[:, None, :]                     # (B,9,9)
    tr = torch.rand(B, generator=g) < 0.5
    src = torch.where(tr[:, None, None], src.transpose(1, 2), src).reshape(B, 81)
    dmap = torch.cat([torch.zeros(B, 1, dtype=torch.long),
                      torch.rand(B, 9, generator=g).argsort(-1) + 1], dim=1)  # (B,10)
    return tuple(dmap.gather(1, d.gather(1, src)) for d in grids)
