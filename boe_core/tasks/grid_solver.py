"""Solving a Sudoku of any `GridShape`, on flat grids (0 = blank):

  * `count_solutions` / `unique_solution` / `random_fill`: one bitmask search with MRV (the empty
    cell with the fewest candidates first), which stops at `limit` solutions; with an `rng` it
    tries each cell's candidates in shuffled order, which is how the 9x9 generator draws grids
    (the search's order is part of the shipped data: the same seed gives the same grid);
  * `solve_by_singles`: filling by naked and hidden singles only, the criterion of the sudoku6
    puzzles.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache

from .grid import GridShape


class _Tables:
    """One shape's lookup tables: each cell's row / column / box number and, per candidate mask,
    its popcount and its bits (digit d is bit d - 1)."""

    def __init__(self, shape: GridShape):
        n = shape.n
        self.n = n
        self.full = (1 << n) - 1
        self.row, self.col, self.box = (shape.unit_of[k] for k in ("row", "column", "box"))
        self.pop = [m.bit_count() for m in range(1 << n)]
        self.bits = [[1 << k for k in range(n) if m >> k & 1] for m in range(1 << n)]
        self.digit_of_bit = {1 << k: k + 1 for k in range(n)}


@cache
def _tables(shape: GridShape) -> _Tables:
    return _Tables(shape)


class _Search:
    """The state of one search: the grid, the digits used per unit (bitmasks) and the empty cells."""
    __slots__ = ("boxes", "cols", "empties", "g", "rows", "t")

    def __init__(self, t: _Tables, cells: Sequence[int]):
        self.t = t
        self.g = list(cells)
        self.rows, self.cols, self.boxes = [0] * t.n, [0] * t.n, [0] * t.n
        self.empties = []
        for i, v in enumerate(self.g):
            if v == 0:
                self.empties.append(i)
                continue
            bit = 1 << (v - 1)
            r, c, b = t.row[i], t.col[i], t.box[i]
            if (self.rows[r] | self.cols[c] | self.boxes[b]) & bit:
                raise ValueError("contradictory clues")
            self.rows[r] |= bit
            self.cols[c] |= bit
            self.boxes[b] |= bit

    def run(self, limit: int, solutions: list, rng: random.Random | None) -> int:
        """Count solutions up to `limit`, appending the first `limit` to `solutions`."""
        empties = self.empties
        if not empties:
            if len(solutions) < limit:
                solutions.append(list(self.g))
            return 1
        t = self.t
        ROW, COL, BOX, POP, full = t.row, t.col, t.box, t.pop, t.full
        rows, cols, boxes = self.rows, self.cols, self.boxes
        best_k, best_mask, best_n = -1, 0, t.n + 1
        for k, i in enumerate(empties):  # MRV: the empty cell with the fewest candidates
            m = ~(rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]]) & full
            n = POP[m]
            if n < best_n:
                best_k, best_mask, best_n = k, m, n
                if n <= 1:
                    break
        if best_n == 0:
            return 0
        i = empties[best_k]
        empties[best_k] = empties[-1]
        empties.pop()
        r, c, b = ROW[i], COL[i], BOX[i]
        bits = t.bits[best_mask]
        if rng is not None and len(bits) > 1:
            bits = list(bits)
            rng.shuffle(bits)
        count = 0
        for bit in bits:
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            self.g[i] = t.digit_of_bit[bit]
            count += self.run(limit - count, solutions, rng)
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
            if count >= limit:
                break
        self.g[i] = 0
        empties.append(i)
        empties[best_k], empties[-1] = empties[-1], empties[best_k]
        return count


def count_solutions(shape: GridShape, cells: Sequence[int], limit: int = 2) -> int:
    """How many solutions the flat grid `cells` has, counting up to `limit`; contradictory clues
    give 0."""
    try:
        search = _Search(_tables(shape), cells)
    except ValueError:
        return 0
    return search.run(limit, [], None)


def unique_solution(shape: GridShape, cells: Sequence[int]) -> list[int] | None:
    """The solution when `cells` has exactly one, else None."""
    try:
        search = _Search(_tables(shape), cells)
    except ValueError:
        return None
    sols: list = []
    return sols[0] if search.run(2, sols, None) == 1 else None


def random_fill(shape: GridShape, rng: random.Random) -> list[int]:
    """A random complete grid: the search from an empty grid, candidates in `rng`'s order."""
    sols: list = []
    _Search(_tables(shape), [0] * shape.n_cells).run(1, sols, rng)
    return sols[0]


def solve_by_singles(shape: GridShape, clues: dict[tuple[int, int], int]) -> dict[tuple[int, int], int] | None:
    """Fill the grid using naked and hidden singles only; the full grid ({(r, c): digit}), or None
    if they stall (or hit a contradiction)."""
    n = shape.n
    grid = dict(clues)
    cand = {(r, c): set(range(1, n + 1)) for r in range(n) for c in range(n) if (r, c) not in grid}
    for cell, d in grid.items():
        for p in shape.peers[cell]:
            if p in cand:
                cand[p].discard(d)
    while cand:
        placed = None
        for cell, cs in cand.items():  # naked single
            if len(cs) == 1:
                placed = (cell, next(iter(cs)))
                break
            if not cs:
                return None
        if placed is None:  # hidden single
            for unit in shape.units:
                for d in range(1, n + 1):
                    where = [x for x in unit if x in cand and d in cand[x]]
                    if len(where) == 1 and not any(grid.get(x) == d for x in unit):
                        placed = (where[0], d)
                        break
                if placed:
                    break
        if placed is None:
            return None
        cell, d = placed
        grid[cell] = d
        del cand[cell]
        for p in shape.peers[cell]:
            if p in cand:
                cand[p].discard(d)
    return grid
