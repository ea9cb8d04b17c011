"""Issue #29's measuring tools: the hard Sudoku split (27 clues, unique solutions, committed data)
and the oracle order, a ceiling that reads the answer and refuses to run without one."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from boe_core import generate, load_model
from boe_core.bench.tasks import make_task
from boe_core.errors import ConfigError
from boe_core.policies import get_policy
from boe_core.tasks import sudoku as S

DATA = Path(__file__).resolve().parents[1] / "assets" / "data" / "sudoku"


def _rows(name):
    return [json.loads(s) for s in (DATA / f"{name}.jsonl").read_text().splitlines() if s.strip()]


# --- the hard split --------------------------------------------------------------------------------
@pytest.mark.parametrize("split,n", [("hard_val", 200), ("hard_test", 500)])
def test_hard_split_has_27_clue_puzzles_with_one_solution(split, n):
    rows = _rows(split)
    assert len(rows) == n
    for r in rows:
        assert S.n_clues(r["puzzle"]) == r["clues"] == 27
        assert S.count_solutions(r["puzzle"], limit=2) == 1
        assert S.verify(r["solution"], puzzle=r["puzzle"]).ok
        assert S.solve(r["puzzle"]) == r["solution"]


def test_hard_splits_share_no_grid_with_each_other_or_the_held_out_splits():
    grids = {name: {r["solution"] for r in _rows(name)}
             for name in ("hard_val", "hard_test", "heldout_val", "heldout_test")}
    names = list(grids)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not grids[a] & grids[b], (a, b)


def test_the_sudoku_task_reads_the_hard_splits_and_the_explorer_offers_hard_examples():
    from boe_core.tasks.sudoku_view import SudokuTask

    t = make_task("sudoku")
    rows = t.load("hard_test", 3)
    assert [r["puzzle"] for r in rows] == [r["puzzle"] for r in _rows("hard_test")[:3]]
    assert len(t.load("hard_val", None)) == 200
    hard = [e for e in S.load_examples() if e["name"].startswith("hard27-")]
    assert len(hard) == 3 and all(S.n_clues(e["puzzle"]) == 27 and S.solve(e["puzzle"]) == e["solution"] for e in hard)
    labels = [c.label for c in SudokuTask().examples()]
    assert any(lab.startswith("hard27-1") for lab in labels)


def test_the_generator_is_deterministic(tmp_path):
    """The script, run again with its seeds, writes the committed puzzles (here the first 3 of each)."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_sudoku_hard.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path), "--examples", str(tmp_path / "ex.json"),
                    "--n-test", "3", "--n-val", "3", "--n-examples", "0"], check=True, capture_output=True)
    for name in ("hard_val", "hard_test"):
        got = [json.loads(s) for s in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
        assert got == _rows(name)[:3]


# --- the oracle --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sudoku():
    return load_model("sudoku")


def test_oracle_is_labelled_as_reading_the_answer():
    p = get_policy("oracle")
    assert p.reads_answer and "reads the answer" in p.description
    assert list(p.presets()) == ["oracle (reads the answer)"]
    assert not get_policy("confidence").reads_answer


def test_oracle_never_commits_a_wrong_digit_where_confidence_does(sudoku):
    """A hard val puzzle that confidence gets wrong at one cell per step: the oracle, same model
    and budget, commits only right digits and solves it."""
    rows = make_task("sudoku").load("hard_val", 40)
    ids = torch.stack([S.puzzle_to_canvas(r["puzzle"], sudoku.tokenizer)[0] for r in rows])
    conf = generate(sudoku, canvas=ids, policy="confidence", steps=81)
    wrong = [i for i, r in enumerate(rows) if S.canvas_to_grid(conf.final_canvas[i], sudoku.tokenizer) != r["solution"]]
    assert wrong  # confidence loses some of them (about 6 in 10 on this split)
    i = wrong[0]
    r = rows[i]
    target = S.puzzle_to_canvas(r["solution"], sudoku.tokenizer)[0]
    tr = generate(sudoku, canvas=ids[i:i + 1], policy="oracle", steps=81, target=target)
    assert S.first_error(S.trace_commits(tr), solution=r["solution"], puzzle=r["puzzle"]) is None
    assert S.canvas_to_grid(tr.final_canvas[0], sudoku.tokenizer) == r["solution"]
    assert tr.records[0].signals["oracle_right"][0].any()


def test_oracle_commits_right_proposals_first_by_confidence(tiny_sudoku_dir):
    """On a random model most proposals are wrong: every step still takes its right proposals
    before any wrong one, the most confident first; with only_right it takes no wrong one while a
    right one is left."""
    m = load_model(str(tiny_sudoku_dir))
    r = _rows("hard_val")[0]
    ids = S.puzzle_to_canvas(r["puzzle"], m.tokenizer)[0][None]
    target = S.puzzle_to_canvas(r["solution"], m.tokenizer)[0][None]
    tgt = target[0].numpy()
    for only_right in (False, True):
        tr = generate(m, canvas=ids, policy="oracle", steps=18, target=target, only_right=only_right)
        seen_right = False
        for rec in tr.records[:-1]:  # the final step commits whatever is left
            el, ch = rec.eligible[0], rec.chosen[0]
            right = el & (rec.proposals[0] == tgt)
            assert np.array_equal(right, rec.signals["oracle_right"][0])
            seen_right |= bool(right.any())
            if (right & ~ch).any():  # a right proposal left over: nothing wrong was taken
                assert not (ch & ~right).any()
                assert rec.confidence[0][ch].min() >= rec.confidence[0][right & ~ch].max() - 1e-6
            if only_right and right.any():
                assert not (ch & ~right).any()
        assert seen_right


def test_oracle_refuses_without_an_answer(tiny, sudoku):
    with pytest.raises(ConfigError, match="reads the answer"):
        generate(tiny, "abc", gen_length=4, steps=2, policy="oracle")
    ids = S.puzzle_to_canvas(_rows("hard_val")[0]["puzzle"], sudoku.tokenizer)[0][None]
    with pytest.raises(ConfigError, match="target"):
        generate(sudoku, canvas=ids, steps=4, policy="oracle", target=torch.zeros(1, 80, dtype=torch.long))
    # a task without a reference answer gives none, so the bench's oracle refuses there too
    assert make_task("kjv-gen").answer_canvas(None, []) is None
    # a policy that does not read the answer ignores one
    tr = generate(sudoku, canvas=ids, steps=4, policy="confidence", target=ids)
    assert tr.num_steps == 4


def test_reasoning_answer_canvas_spells_the_reference_in_the_answer_region():
    t = make_task("arith-cot")
    m = load_model(t.default_model)
    ex = t.load("test", 3)
    ids, am = t.canvas(m, ex)
    target = t.answer_canvas(m, ex)
    masked = ids == m.mask_id
    assert target.shape == ids.shape and (target[~masked] == -1).all() and (target[masked] >= 0).all()
    filled = torch.where(masked, target, ids)  # the reference written into the canvas scores right
    assert [s["exact_match"] for s in t.score(m, ex, filled.numpy())] == [1.0, 1.0, 1.0]
