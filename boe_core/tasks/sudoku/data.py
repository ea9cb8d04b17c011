"""The 9x9 Sudoku's data: random complete grids, puzzles with a unique solution made from them,
and the example puzzles the app and tests load. The same seed gives the same grids and puzzles
(the shipped data splits were made this way)."""
from __future__ import annotations

import json
import random
from pathlib import Path

from ...paths import examples_dir
from .. import grid_solver
from .rules import N_CELLS, PEERS, SHAPE, count_solutions, grid_to_str, parse_grid


def _as_rng(rng) -> random.Random:
    """A random.Random as is; anything else seeds a new one."""
    return rng if isinstance(rng, random.Random) else random.Random(rng)


def random_solution(rng=None) -> str:
    """A uniformly-ish random complete valid grid (randomized backtracking with MRV)."""
    return grid_to_str(grid_solver.random_fill(SHAPE, _as_rng(rng)))


def make_puzzle(solution: str, rng=None, target_clues: int = 36) -> str:
    """Remove clues from a complete `solution` in random order, keeping each removal only if the
    puzzle still has a unique solution, until `target_clues` clues remain (or no clue can be
    removed any more; the result then has more clues than asked). Returns the puzzle ('0' blanks)."""
    if not 17 <= target_clues <= 81:
        raise ValueError(f"target_clues={target_clues!r}: must be in [17, 81]")
    rng = _as_rng(rng)
    cells = parse_grid(solution)
    order = list(range(N_CELLS))
    rng.shuffle(order)
    clues = N_CELLS
    for i in order:
        if clues <= target_clues:
            break
        v = cells[i]
        cells[i] = 0
        # Removing a clue never removes solutions, so only "still unique" needs checking. Fast
        # path: if the clues among i's peers leave a single candidate, cell i is forced and the
        # solution set is unchanged (still exactly one).
        seen = set()
        for q in PEERS[i]:
            if cells[q]:
                seen.add(cells[q])
        if len(seen) == 8 or count_solutions(cells, limit=2) == 1:
            clues -= 1
        else:
            cells[i] = v
    return grid_to_str(cells)


def generate_puzzle(rng=None, target_clues: int = 36) -> tuple[str, str]:
    """(puzzle, solution): a random puzzle with a unique solution and (normally) exactly
    `target_clues` clues (never fewer)."""
    rng = _as_rng(rng)
    sol = random_solution(rng)
    return make_puzzle(sol, rng, target_clues), sol


EXAMPLES_PATH = examples_dir() / "sudoku.json"


def load_examples(path=None) -> list[dict]:
    """Example puzzles for the app and tests: [{"name", "level", "clues", "puzzle", "solution"}].

    One copy only: assets/examples/sudoku.json, written by scripts/make_sudoku_data.py with its
    examples seed (uniqueness is checked in tests)."""
    p = Path(path) if path else EXAMPLES_PATH
    if not p.is_file():
        raise FileNotFoundError(f"examples file {str(p)!r} is missing; run scripts/make_sudoku_data.py")
    return json.loads(p.read_text())
