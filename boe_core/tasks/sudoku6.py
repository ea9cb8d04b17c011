"""`sudoku6`: a 6x6 Sudoku (boxes of 2 rows x 3 columns) given and answered as text rows, digits 1-6.

    prompt  "s6:1....6/..2.../......"      answer  "123456/456123/..."   (6 rows of 6)

Why a second Sudoku: every decoding order solves the 4x4 one (a trained model fills a minimal
4x4 grid in any order), so it cannot tell policies apart. A 6x6 grid has 36 cells whose values
depend on each other in long chains.

Puzzles are generated to be solvable by singles alone (a cell with one candidate left, or a digit
with one place left in a row, column or box): clues are removed from a random solved grid, in
random order, while the rest can still be filled that way (9-12 clues are left), then 0-6 of the
removed cells, drawn at random, are given back, so the puzzles range from near-minimal to easy.
Each has exactly one solution and an order in which every next cell is forced; a decoder that
fills cells before they are forced has to guess. The checker accepts any grid that keeps the
clues and breaks no rule.

The answer canvas is 48 characters (41, then [EOS]s): two d1 blocks of 24, and both step budgets
(2 and 4 tokens per step) divide it.
"""
from __future__ import annotations

import random

from . import grid_solver
from .grid import GridShape
from .reasoning import Example, register
from .text_grid import GridTask

SHAPE = GridShape(2, 3)
N = SHAPE.n
CELLS = [(r, c) for r in range(N) for c in range(N)]


def random_solution(rng: random.Random) -> list[list[int]]:
    """A uniformly shuffled backtracking fill (candidates tried in random order)."""
    g = [[0] * N for _ in range(N)]

    def fill(i: int) -> bool:
        if i == N * N:
            return True
        r, c = divmod(i, N)
        used = {g[pr][pc] for pr, pc in SHAPE.peers[(r, c)]}
        digits = [d for d in range(1, N + 1) if d not in used]
        rng.shuffle(digits)
        for d in digits:
            g[r][c] = d
            if fill(i + 1):
                return True
        g[r][c] = 0
        return False

    fill(0)
    return g


def solve_by_singles(clues: dict[tuple[int, int], int]) -> dict[tuple[int, int], int] | None:
    """The full grid that naked and hidden singles alone fill from `clues`, or None (the sudoku6
    puzzles are exactly those this fills)."""
    return grid_solver.solve_by_singles(SHAPE, clues)


@register
class Sudoku6Task(GridTask):
    shape = SHAPE
    name = "sudoku6"
    order = 3
    tag = "s6:"
    gen_length = 48
    model = "sudoku6"  # its own model: adding it to `reasoning` cost that model its arithmetic

    def generate(self, rng: random.Random) -> Example:
        sol = random_solution(rng)
        clues = {(r, c): sol[r][c] for r, c in CELLS}
        order = list(CELLS)
        rng.shuffle(order)
        for cell in order:  # one pass in random order: drop each clue singles can do without
            d = clues.pop(cell)
            if solve_by_singles(clues) is None:
                clues[cell] = d
        removed = [cell for cell in CELLS if cell not in clues]
        for cell in rng.sample(removed, rng.randint(0, 6)):  # a spread of difficulty, not only minimal
            clues[cell] = sol[cell[0]][cell[1]]
        puz = [[clues.get((r, c), 0) for c in range(N)] for r in range(N)]
        return Example(self.name, SHAPE.to_text(puz), SHAPE.to_text(sol), {"clues": len(clues)})
