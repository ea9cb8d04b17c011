"""Symmetry augmentation (boe_core.train.augment): every transform keeps a grid valid and a
puzzle's solution unique, one grid at a time and batched."""
import random

import torch

from boe_core.tasks import sudoku as S
from boe_core.train.augment import Symmetry, augment_batch, random_symmetry

# A fixed valid grid (rows are shifts of 123456789).
GRID = "".join("".join(str((r * 3 + r // 3 + c) % 9 + 1) for c in range(9)) for r in range(9))


def test_symmetries_preserve_validity_and_uniqueness():
    rng = random.Random(7)
    puzzle, solution = S.generate_puzzle(random.Random(1234), target_clues=36)
    for _ in range(20):
        sym = random_symmetry(rng)
        s2, p2 = sym.apply(solution), sym.apply(puzzle)
        assert S.verify(s2, p2).ok
        assert S.n_clues(p2) == S.n_clues(puzzle)
        assert S.solve(p2) == s2
    # each elementary transform alone
    ident = Symmetry(tuple(range(9)), tuple(range(9)), tuple(range(10)), False)
    assert ident.apply(GRID) == GRID
    transposed = Symmetry(tuple(range(9)), tuple(range(9)), tuple(range(10)), True).apply(GRID)
    assert transposed == "".join(GRID[c * 9 + r] for r in range(9) for c in range(9))
    assert S.verify(transposed).ok
    swap_bands = Symmetry((3, 4, 5, 0, 1, 2, 6, 7, 8), tuple(range(9)), tuple(range(10)))
    assert S.verify(swap_bands.apply(GRID)).ok
    relabel = Symmetry(tuple(range(9)), tuple(range(9)), (0, 2, 1, 3, 4, 5, 6, 7, 8, 9))
    assert S.verify(relabel.apply(GRID)).ok and relabel.apply(GRID) != GRID


def test_batched_augmentation_keeps_validity():
    g = torch.Generator().manual_seed(0)
    base = torch.tensor([S.parse_grid(GRID)] * 16)
    out = augment_batch(base, g)
    assert out.shape == (16, 81)
    grids = [S.grid_to_str(r.tolist()) for r in out]
    assert all(S.verify(x).ok for x in grids)
    assert len(set(grids)) > 1


def test_batched_augmentation_keeps_blanks_blank_and_the_clue_count():
    puzzle, _ = S.generate_puzzle(random.Random(1234), target_clues=36)
    out = augment_batch(torch.tensor([S.parse_grid(puzzle)] * 8), torch.Generator().manual_seed(1))
    assert all(S.n_clues(S.grid_to_str(r.tolist())) == 36 for r in out)
    assert all(S.count_solutions(S.grid_to_str(r.tolist())) == 1 for r in out)


def test_augment_together_moves_a_state_with_its_solution():
    from boe_core.train.augment import augment_batch, augment_together

    sol = torch.tensor([[((r * 3 + r // 3 + c) % 9) + 1 for r in range(9) for c in range(9)]] * 4)
    state = torch.where(torch.rand(4, 81, generator=torch.Generator().manual_seed(1)) < 0.6, 0, sol)
    a, b = augment_together(state, sol, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a[a > 0], b[a > 0]) and int((a == 0).sum()) == int((state == 0).sum())
    assert not torch.equal(b, sol)
    # one tensor draws what augment_batch draws: the recipes that use it train as before
    assert torch.equal(augment_together(sol, generator=torch.Generator().manual_seed(5))[0],
                       augment_batch(sol, torch.Generator().manual_seed(5)))
