"""`sudoku4`: a 4x4 Sudoku given and answered as text rows (the d1 layout), digits 1-4.

    prompt  "s4:1.3./..21/4.../.1.."      answer  "1234/3412/2143/4321"

Every puzzle is minimal, the hardest kind a 4x4 grid has: cells are removed from a random solved
grid, in random order, until removing any other clue would allow a second solution. That leaves
4-6 clues and exactly one solution. (Puzzles of 4-8 random clues, often with several solutions,
were solved in random order almost as often as in confidence order, so they did not separate
decoding orders.) The checker still accepts any grid that keeps the clues and breaks no rule,
and blames every cell that breaks one.
"""
from __future__ import annotations

import random

from . import grid_solver
from .grid import GridShape
from .reasoning import Example, register
from .text_grid import GridTask

SHAPE = GridShape(2, 2)
to_text, parse = SHAPE.to_text, SHAPE.parse
_BASE = [[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]]


def count_solutions(clues: dict[tuple[int, int], int], limit: int = 2) -> int:
    """How many solved grids keep `clues` ({(r, c): digit}), counting up to `limit`."""
    return grid_solver.count_solutions(SHAPE, SHAPE.flatten(clues), limit)


def random_solution(rng: random.Random) -> list[list[int]]:
    digits = list(range(1, 5))
    rng.shuffle(digits)
    bands = [0, 1] if rng.random() < 0.5 else [1, 0]
    rows = [b * 2 + i for b in bands for i in ([0, 1] if rng.random() < 0.5 else [1, 0])]
    stacks = [0, 1] if rng.random() < 0.5 else [1, 0]
    cols = [s * 2 + i for s in stacks for i in ([0, 1] if rng.random() < 0.5 else [1, 0])]
    g = [[digits[_BASE[r][c] - 1] for c in cols] for r in rows]
    if rng.random() < 0.5:
        g = [list(x) for x in zip(*g)]
    return g


@register
class Sudoku4Task(GridTask):
    shape = SHAPE
    name = "sudoku4"
    order = 2
    tag = "s4:"
    gen_length = 20

    def generate(self, rng: random.Random) -> Example:
        sol = random_solution(rng)
        clues = {(r, c): sol[r][c] for r in range(4) for c in range(4)}
        order = list(clues)
        rng.shuffle(order)
        for cell in order:  # one pass in random order: drop each clue that is not needed
            d = clues.pop(cell)
            if count_solutions(clues) > 1:
                clues[cell] = d
        puz = [[clues.get((r, c), 0) for c in range(4)] for r in range(4)]
        return Example(self.name, to_text(puz), to_text(sol), {"clues": len(clues)})
