"""The 9x9 Sudoku package: generator uniqueness, verifier, canvas layout, first_error_step."""
import json
import random
from pathlib import Path

import pytest
import torch

from boe_core.tasks import sudoku as S

ROOT = Path(__file__).resolve().parents[1]

# A fixed valid grid (rows are shifts of 123456789) and a unique-solution puzzle made from it.
GRID = "".join("".join(str((r * 3 + r // 3 + c) % 9 + 1) for c in range(9)) for r in range(9))


@pytest.fixture(scope="module")
def generated():
    rng = random.Random(1234)
    return [S.generate_puzzle(rng, target_clues=t) for t in (36, 38, 40, 30, 45)]


def test_fixed_grid_is_valid():
    assert S.verify(GRID).ok


def test_generated_puzzles_have_exactly_one_solution(generated):
    for (puzzle, solution), target in zip(generated, (36, 38, 40, 30, 45)):
        assert S.verify(solution).ok
        assert S.n_clues(puzzle) == target
        assert S.count_solutions(puzzle, limit=10) == 1
        assert S.solve(puzzle) == solution
        assert S.verify(solution, puzzle).ok          # clues agree with the solution


def test_counting_solver_detects_multiple_and_zero():
    assert S.count_solutions("0" * 81, limit=2) == 2
    three_rows = GRID[:27] + "0" * 54              # consistent but far from unique
    assert S.count_solutions(three_rows, limit=2) == 2
    assert S.count_solutions(three_rows, limit=5) == 5
    assert S.solve(three_rows) is None
    assert S.count_solutions(GRID) == 1
    bad = "11" + "0" * 79
    assert S.count_solutions(bad) == 0


def test_heldout_files_if_present():
    p = ROOT / "assets" / "data" / "sudoku" / "heldout_test.jsonl"
    if not p.is_file():
        pytest.skip("held-out data not generated")
    rows = [json.loads(l) for l in p.read_text().splitlines()[:5]]
    for r in rows:
        assert r["clues"] >= 36 and S.n_clues(r["puzzle"]) == r["clues"]
        assert S.count_solutions(r["puzzle"]) == 1 and S.solve(r["puzzle"]) == r["solution"]


def test_examples_are_unique():
    for e in S.load_examples():
        assert S.count_solutions(e["puzzle"]) == 1
        assert S.solve(e["puzzle"]) == e["solution"]


def test_verifier_reports_each_kind():
    puzzle = GRID[:40] + "0" * 41
    assert S.verify(GRID, puzzle, GRID).ok
    assert S.verify(GRID[:80]).kinds == {S.LENGTH}
    assert S.CHARACTER in S.verify("x" + GRID[1:]).kinds
    # a clue changed (cell 0 is a clue) -> also a row/col/box duplicate and differs from solution
    d = str(int(GRID[0]) % 9 + 1)
    rep = S.verify(d + GRID[1:], puzzle, GRID)
    assert {S.CLUE_CHANGED, S.ROW_DUP, S.COL_DUP, S.BOX_DUP, S.WRONG} <= rep.kinds
    # a non-clue cell changed: no clue_changed
    g = list(GRID)
    g[80] = str(int(g[80]) % 9 + 1)
    rep = S.verify("".join(g), puzzle, GRID)
    assert S.CLUE_CHANGED not in rep.kinds and S.WRONG in rep.kinds and S.ROW_DUP in rep.kinds
    # only a column duplicate: swap two cells within a row (row still a permutation)
    g = list(GRID)
    g[0], g[1] = g[1], g[0]
    rep = S.verify("".join(g))
    assert S.COL_DUP in rep.kinds and S.ROW_DUP not in rep.kinds and S.BOX_DUP not in rep.kinds
    # only a box duplicate: swap rows 2 and 3 (different bands)... rows stay permutations,
    # columns stay permutations, boxes break
    rows = [GRID[r * 9:(r + 1) * 9] for r in range(9)]
    rows[2], rows[3] = rows[3], rows[2]
    rep = S.verify("".join(rows))
    assert rep.kinds == {S.BOX_DUP}
    # row duplicate only (swap two cells in a column)
    g = list(GRID)
    g[0], g[9] = g[9], g[0]
    assert S.ROW_DUP in S.verify("".join(g)).kinds
    # unfilled, with '.' blanks
    rep = S.verify("." + GRID[1:], None, GRID)
    assert rep.kinds == {S.UNFILLED}
    assert rep.violations[0].cells == (0,)
    assert not rep.ok and "unfilled" in rep.summary()


def test_canvas_round_trip():
    tok = S.sudoku_tokenizer()
    assert tok.vocab_size == 11 and tok.mask_id is not None and tok.pad_id is not None
    assert tok.encode("123") == S.digit_ids(tok)[:3]
    puzzle = GRID[:30] + "." * 20 + GRID[50:]
    ids, fixed = S.puzzle_to_canvas(puzzle, tok)
    assert ids.shape == (81,) and ids.dtype == torch.long and fixed.dtype == torch.bool
    assert int(fixed.sum()) == 61
    assert bool((ids[~fixed] == tok.mask_id).all())
    assert S.canvas_to_grid(ids, tok) == S.normalize_grid(puzzle)
    assert S.canvas_to_grid(ids, tok, blank=".") == puzzle
    full, fixed_full = S.puzzle_to_canvas(GRID, tok)
    assert bool(fixed_full.all()) and S.canvas_to_grid(full, tok) == GRID
    assert tok.decode(full.tolist()) == GRID
    with pytest.raises(ValueError):
        S.puzzle_to_canvas(GRID[:80], tok)


def test_first_error_step_on_hand_built_commits():
    tok = S.sudoku_tokenizer()
    did = S.digit_ids(tok)
    puzzle = "0" * 3 + GRID[3:]          # cells 0,1,2 blank
    sol = GRID
    right = [(did[int(sol[i]) - 1]) for i in range(3)]
    commits = [([0], [right[0]]), ([1, 2], [right[1], right[2]])]
    assert S.first_error_step(commits, sol, puzzle, tok) is None
    # wrong digit at step 1
    wrong = did[int(sol[2]) % 9]
    commits = [([0], [right[0]]), ([1], [right[1]]), ([2], [wrong])]
    assert S.first_error_step(commits, sol, puzzle, tok) == 2
    e = S.first_error(commits, sol, puzzle, tok)
    assert (e.step, e.position, e.reason) == (2, 2, S.WRONG)
    # without a solution: a rule violation is caught (duplicate with a clue in the row)
    dup = did[int(GRID[3]) - 1]           # digit of clue cell 3 (same row as cell 0)
    e = S.first_error([([0], [dup])], None, puzzle, tok)
    assert e.step == 0 and e.reason in (S.ROW_DUP, S.COL_DUP, S.BOX_DUP)
    # rule check against commits of the same step (no puzzle, no solution)
    e = S.first_error([([5], ["7"]), ([0, 1], ["3", "3"])])
    assert e.step == 1 and e.position == 1 and e.reason == S.ROW_DUP
    # digit characters, dict form and tensors are accepted
    commits = [{"positions": torch.tensor([0]), "tokens": torch.tensor([right[0]])},
               ([1], [sol[1]]), (2, sol[2])]
    assert S.first_error_step(commits, sol, puzzle, tok) is None
    # committing [MASK] or overwriting a clue is an error
    assert S.first_error([([0], [tok.mask_id])], sol, puzzle, tok).reason == "not_a_digit"
    assert S.first_error([([40], ["1" if sol[40] != "1" else "2"])], sol, puzzle, tok).reason == "clue_overwritten"
    assert S.first_error_step([], sol, puzzle) is None


def test_trace_commits_of_a_sampler_run_feed_first_error_step():
    # the shipped model, one puzzle, decoded by the project's sampler one cell per step
    from boe_core import generate, load_model

    adapter = load_model("sudoku")
    tok = adapter.tokenizer
    ex = S.load_examples()[0]
    puzzle, sol = ex["puzzle"], ex["solution"]
    ids, fixed = S.puzzle_to_canvas(puzzle, tok)
    n_blank = int((~fixed).sum())
    trace = generate(adapter, canvas=ids[None], policy="confidence", steps=n_blank, seed=0)
    commits = S.trace_commits(trace)
    assert len(commits) == n_blank == trace.num_steps
    assert all(len(p) == len(t) == 1 for p, t in commits)
    assert sorted(p for ps, _ in commits for p in ps) == sorted((~fixed).nonzero().flatten().tolist())
    final = trace.final_canvas[0]
    assert all(int(final[p]) == t for ps, ts in commits for p, t in zip(ps, ts))
    grid = S.canvas_to_grid(final, tok)
    assert "0" not in grid and bool((torch.as_tensor(final)[fixed] == ids[fixed]).all())
    step = S.first_error_step(commits, solution=sol)
    assert step is None or 0 <= step < n_blank
    assert (step is None) == (grid == sol)
    assert S.first_error_step(commits, sol, puzzle, tok) == step
    # a wrong digit injected at step 2 is reported there
    p2 = commits[2][0][0]
    wrong = S.digit_ids(tok)[(int(sol[p2]) % 9)]  # the digit after the right one
    bad = commits[:2] + [([p2], [wrong])] + commits[3:]
    e = S.first_error(bad, solution=sol)
    assert e is not None and e.step <= 2
    assert S.first_error_step(bad, solution=sol) == e.step


def test_trace_commits_keeps_empty_steps_of_short_rows():
    # rows with fewer blanks than steps commit nothing in their last steps; the list stays aligned
    from boe_core import generate
    from boe_core.models import TinyMDMAdapter

    adapter = TinyMDMAdapter.random(symbols=S.DIGITS, max_length=81)
    tok = adapter.tokenizer
    sol = S.load_examples()[0]["solution"]
    a = S.puzzle_to_canvas("0" * 3 + sol[3:], tok)[0]
    b = S.puzzle_to_canvas("0" * 5 + sol[5:], tok)[0]
    trace = generate(adapter, canvas=torch.stack([a, b]), policy="random", steps=5, seed=0)
    ca, cb = S.trace_commits(trace, 0), S.trace_commits(trace, 1)
    assert len(ca) == len(cb) == 5
    assert [len(p) for p, _ in ca] == [1, 1, 1, 0, 0] and [len(p) for p, _ in cb] == [1] * 5
    assert sorted(p for ps, _ in ca for p in ps) == [0, 1, 2]


def test_the_9x9_rules_agree_with_the_text_grid_checker():
    """One engine: the 9x9 `verify` and the text tasks' checker (the same rules, another layout)
    judge a solution and a corrupted one alike."""
    from boe_core.tasks.text_grid import check_rows

    shape = S.SHAPE
    ex = S.load_examples()[0]
    sol, puz = S.normalize_grid(ex["solution"]), S.normalize_grid(ex["puzzle"])
    rows = lambda g: shape.to_text([[int(g[r * 9 + c]) for c in range(9)] for r in range(9)])
    assert S.verify(sol, puz).ok and check_rows(shape, rows(puz), rows(sol)).correct
    blank = next(i for i in range(81) if puz[i] == "0")
    other = next(i for i in S.PEERS[blank] if puz[i] == "0")
    bad = list(sol)
    bad[blank] = sol[other]  # repeats a peer's digit
    bad = "".join(bad)
    assert not S.verify(bad, puz).ok
    c = check_rows(shape, rows(puz), rows(bad))
    assert not c.correct and shape.char_offset(blank // 9, blank % 9) in c.wrong_chars


def test_the_generator_keeps_its_puzzles_for_a_seed():
    """Data splits were made by seed: the first puzzle of random.Random(1234) never changes."""
    puzzle, solution = S.generate_puzzle(random.Random(1234), target_clues=36)
    assert puzzle == "000034700860752010072000650605003070120006005000105002000500209506240030204010500"
    assert solution == "951634728863752914472891653645923871128476395739185462317568249586249137294317586"
