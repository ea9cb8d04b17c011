"""The grid engine (`tasks.grid`, `tasks.grid_solver`): one geometry, one duplicate rule and one
solver for the 4x4, 6x6 and 9x9 Sudokus."""
import itertools
import random

import pytest

from boe_core.tasks import grid_solver
from boe_core.tasks.grid import Duplicate, GridShape, duplicates

SHAPES = [GridShape(2, 2), GridShape(2, 3), GridShape(3, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.n}x{s.n}")
def test_geometry_has_n_units_of_each_kind_and_the_right_peers(shape):
    n, br, bc = shape.n, shape.box_rows, shape.box_cols
    for kind, units in shape.flat_units.items():
        assert len(units) == n and all(len(set(u)) == n for u in units), kind
        assert sorted(i for u in units for i in u) == list(range(n * n))  # each kind tiles the grid
    # a cell's peers: its row and column (n - 1 each) plus the box cells off both (br-1)(bc-1)
    assert all(len(p) == 2 * (n - 1) + (br - 1) * (bc - 1) for p in shape.flat_peers)
    assert shape.unit_of["box"][n * (br - 1) + bc] == 1 and shape.unit_of["box"][n * br] == n // bc
    assert shape.shared_unit(0, 1) == "row" and shape.shared_unit(0, n) == "column"
    assert shape.shared_unit(0, n + 1) == "box" and shape.shared_unit(0, n * n - 1) is None


def test_duplicates_name_the_unit_the_digit_and_the_cells_rows_first():
    shape = GridShape(2, 2)
    cells = [1, 1, 0, 0,
             0, 0, 0, 0,
             1, 0, 0, 0,
             0, 0, 0, 0]
    assert duplicates(shape, cells) == [Duplicate("row", 0, 1, (0, 1)), Duplicate("column", 0, 1, (0, 8)),
                                        Duplicate("box", 0, 1, (0, 1))]
    assert duplicates(shape, [0] * 16) == []


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.n}x{s.n}")
def test_random_fill_is_a_valid_grid_fixed_by_the_seed(shape):
    a = grid_solver.random_fill(shape, random.Random(3))
    assert a == grid_solver.random_fill(shape, random.Random(3))
    assert a != grid_solver.random_fill(shape, random.Random(4))
    assert 0 not in a and duplicates(shape, a) == []
    assert grid_solver.count_solutions(shape, a) == 1 and grid_solver.unique_solution(shape, a) == a


def test_the_9x9_search_draws_the_grid_the_shipped_data_was_made_with():
    """The search's order is part of the data: random.Random(0) has always given this grid."""
    g = grid_solver.random_fill(GridShape(3, 3), random.Random(0))
    assert "".join(map(str, g)) == "872593146346821759195476283268319475437685912519247638651934827723168594984752361"


def test_the_4x4_counter_agrees_with_enumerating_all_288_grids():
    shape = GridShape(2, 2)
    assert grid_solver.count_solutions(shape, [0] * 16, limit=10_000) == 288
    grids = _all_4x4(shape)
    assert len(grids) == 288
    rng = random.Random(0)
    for _ in range(200):
        g = rng.choice(grids)
        cells = [v if rng.random() < 0.3 else 0 for v in g]
        brute = sum(all(c == 0 or c == s for c, s in zip(cells, sol)) for sol in grids)
        assert grid_solver.count_solutions(shape, cells, limit=1000) == brute
        assert grid_solver.count_solutions(shape, cells, limit=2) == min(brute, 2)


def _all_4x4(shape):
    """Every solved 4x4 grid, by stacking row permutations (independent of the solver)."""
    out = []

    def stack(rows):
        g = [v for r in rows for v in r] + [0] * (16 - 4 * len(rows))
        if duplicates(shape, g):
            return
        if len(rows) == 4:
            out.append(g)
            return
        for r in itertools.permutations(range(1, 5)):
            stack(rows + [r])

    stack([])
    return out


def test_contradictory_clues_have_no_solution():
    shape = GridShape(2, 3)
    cells = [1, 1] + [0] * 34
    assert grid_solver.count_solutions(shape, cells) == 0 and grid_solver.unique_solution(shape, cells) is None
    assert grid_solver.solve_by_singles(shape, {(0, 0): 1, (0, 1): 1}) is None


def test_singles_fill_a_forced_grid_and_stall_on_an_open_one():
    shape = GridShape(2, 2)
    sol = grid_solver.random_fill(shape, random.Random(1))
    clues = {divmod(i, 4): v for i, v in enumerate(sol) if i % 5}  # the diagonal left blank: all forced
    filled = grid_solver.solve_by_singles(shape, clues)
    assert filled is not None and shape.flatten(filled) == sol
    assert grid_solver.solve_by_singles(shape, {}) is None
