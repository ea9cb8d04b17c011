"""Backtracking over view-hop's guesses (issue #29): with no undos it is view-hop plus one read-back;
each undo returns to a recorded guess and writes its runner-up digit; the kept grid is the one the
model believes most; bad settings and other policies are refused by name."""
import json
import math

import numpy as np
import pytest
import torch

from boe_core import generate, load_model
from boe_core.backtrack import BacktrackSettings, backtrack
from boe_core.bench.cost import row_costs
from boe_core.errors import ConfigError
from boe_core.paths import data_dir
from boe_core.readback import grouped_reads_rows
from boe_core.tasks import sudoku as S


@pytest.fixture(scope="module")
def sudoku():
    return load_model("sudoku")


def _canvas(adapter, n):
    rows = [json.loads(s) for s in (data_dir() / "sudoku" / "hard_val.jsonl").read_text().splitlines()[:n]]
    return torch.stack([S.puzzle_to_canvas(r["puzzle"], adapter.tokenizer)[0] for r in rows])


def test_without_undos_it_is_view_hop_plus_one_read_back(sudoku):
    canvas = _canvas(sudoku, 3)
    res = backtrack(sudoku, canvas, settings=BacktrackSettings(flips=0))
    for b in range(3):
        tr = generate(sudoku, canvas=canvas[b:b + 1], policy="view-hop", steps=81, seed=0)
        assert np.array_equal(res.final[b], np.asarray(tr.final_canvas)[0])
        assert res.forwards[b] == pytest.approx(row_costs(tr)[0][0] + 4)
        read = grouped_reads_rows(sudoku, res.final[b:b + 1], (canvas[b:b + 1] == sudoku.mask_id).numpy(), None, 4)
        assert res.read_min[b] == pytest.approx(float(np.nanmin(read)), abs=1e-5)
    assert (res.flips == 0).all() and not any(res.events)


def test_undos_write_the_runner_up_of_a_guess_and_keep_the_grid_believed_most(sudoku):
    canvas = _canvas(sudoku, 6)
    plain = backtrack(sudoku, canvas, settings=BacktrackSettings(flips=0))
    res = backtrack(sudoku, canvas, settings=BacktrackSettings(flips=3))
    digits = set(S.digit_ids(sudoku.tokenizer))
    undone = 0
    for b in range(6):
        undos = [e for e in res.events[b] if "undo" in e]
        assert len(undos) == res.flips[b] <= 3
        for e in undos:
            assert e["from"] != e["to"] and e["to"] in digits and canvas[b, e["cell"]] == sudoku.mask_id
        undone += len(undos)
        if not undos:  # nothing doubted (or nothing left to undo): the same grid as without undos
            assert np.array_equal(res.final[b], plain.final[b])
        else:
            assert res.forwards[b] > plain.forwards[b]
            # view-hop's own grid was the first candidate: the kept one is believed at least as much
            assert res.read_sum[b] >= plain.read_sum[b] - 1e-3
            assert math.exp(plain.read_min[b]) < 0.9 or any(e.get("doubt") == "before a guess" for e in res.events[b])
    assert undone > 0  # these hard puzzles make view-hop guess wrong somewhere


def test_backtracking_refuses_bad_settings_and_other_policies(sudoku):
    for bad in ({"groups": 0}, {"final_groups": 82}, {"flips": -1}, {"doubt": 0.0}, {"gate": 1.5}, {"flips": 1.5}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            BacktrackSettings(**bad).validate()
    with pytest.raises(ConfigError, match="view-hop"):
        backtrack(sudoku, _canvas(sudoku, 1), policy="confidence")


def test_the_cli_backtracks_a_puzzle_and_names_its_flag(capsys):
    from boe_core.cli import main

    puzzle = json.loads((data_dir() / "sudoku" / "hard_val.jsonl").read_text().splitlines()[1])["puzzle"]
    assert main(["generate", "--model", "sudoku", "--policy", "view-hop", "--steps", "81", "--puzzle", puzzle,
                 "--backtrack", "6", "--quiet"]) == 0
    out, err = capsys.readouterr()
    grid = out.strip().splitlines()[-1]
    assert len(grid) == 81 and all(p in ("0", g) for p, g in zip(puzzle, grid)) and "undone" in err
    assert main(["generate", "--model", "sudoku", "--policy", "view-hop", "--puzzle", puzzle, "--backtrack", "-1"]) != 0
    assert "--backtrack" in capsys.readouterr().err
    assert main(["generate", "--model", "sudoku", "--policy", "view-hop", "--puzzle", puzzle, "--backtrack", "2",
                 "--restarts", "2"]) != 0
    assert "not both" in capsys.readouterr().err
