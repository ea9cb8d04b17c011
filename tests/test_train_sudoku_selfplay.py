"""`python -m boe_core.train sudoku-selfplay`: rollouts of the model's own confidence order, the
mixed objective, checkpoint / resume and the export (tiny model, a few steps)."""
import json
import random
import shutil

import pytest
import torch

from boe_core import train
from boe_core.errors import ConfigError
from boe_core.models.tiny_mdm import TinyMDM
from boe_core.tasks import sudoku as S
from boe_core.train.recipes import sudoku_selfplay as SP
from train_helpers import recipe_losses



def _flags(init, run_dir):
    return ["sudoku-selfplay", "--init-from", str(init), "--run-dir", str(run_dir), "--batch-size", "4",
            "--rollout-puzzles", "2", "--refresh-every", "2", "--pool-size", "16", "--min-clues", "40",
            "--max-clues", "44", "--eval-n", "0", "--log-every", "1"]


_losses = recipe_losses


def test_rollout_visits_every_state_and_corrected_rows_show_only_solution_digits(tiny_sudoku_dir):
    tok = S.sudoku_tokenizer()
    model = TinyMDM.from_pretrained(tiny_sudoku_dir)
    g = torch.Generator().manual_seed(0)
    grids = SP.make_pool(4, 0, None)
    c = SP.SudokuSelfplayConfig(min_clues=40, max_clues=40)
    puzzles, sols = SP.make_puzzles(grids, 2, c, g, random.Random(0))
    assert all(S.n_clues(p) == 40 and S.count_solutions(p) == 1 for p in puzzles)
    lut = S.digit_lookup(tok)
    canvas = torch.stack([S.puzzle_to_canvas(p, tok)[0] for p in puzzles])
    target = lut[torch.tensor([S.parse_grid(s) for s in sols])]
    states, targets = SP.rollout_states(model, canvas, target, torch.tensor([1, 3]), torch.tensor([True, False]),
                                        tok.mask_id, torch.tensor(S.digit_ids(tok)))
    assert states.shape[0] == 41 + 14  # 41 blanks one per step, then ceil(41 / 3) states
    corrected = (targets == target[0]).all(1)  # row 0's states (the two solutions differ)
    assert corrected.sum() == 41
    vis = states[corrected] != tok.mask_id
    assert torch.equal(states[corrected][vis], targets[corrected][vis])  # no wrong digit ever visible
    masks = (states == tok.mask_id).sum(1)
    assert masks[corrected].tolist() == list(range(41, 0, -1))  # every visited canvas, one commit apart
    assert masks[~corrected].tolist() == list(range(41, 0, -3))  # the other row: 3 cells a step


def test_a_selfplay_run_trains_resumes_and_exports(monkeypatch, tmp_path, tiny_sudoku_dir):
    base = _flags(tiny_sudoku_dir, tmp_path / "run") + ["--steps", "3"]
    three = _losses(monkeypatch, base, n=3)
    assert len(three) == 3 and all(x > 0 for x in three)
    shutil.rmtree(tmp_path / "run")
    _losses(monkeypatch, base, n=2)
    ck = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)
    assert ck["step"] == 2 and {"py_rng", "gen", "opt"} <= set(ck)
    assert _losses(monkeypatch, base + ["--resume"], n=3) == pytest.approx(three[2:], abs=1e-5)
    export = tmp_path / "run" / "export"
    info = json.loads((export / "training_info.json").read_text())
    assert info["steps"] == 3 and info["recipe"] == "sudoku-selfplay"
    w0 = TinyMDM.from_pretrained(tiny_sudoku_dir).state_dict()
    w1 = TinyMDM.from_pretrained(export).state_dict()
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)  # it trained


def test_selfplay_refuses_bad_settings(tmp_path, capsys, tiny_sudoku_dir):
    assert train.main(_flags(tiny_sudoku_dir, tmp_path)) == 2  # no budget
    assert "steps" in capsys.readouterr().err
    assert train.main(_flags(tiny_sudoku_dir, tmp_path) + ["--steps", "1", "--own-frac", "1.5"]) == 2
    assert "own_frac" in capsys.readouterr().err
    from boe_core import paths

    with pytest.raises(ConfigError, match="export_dir"):
        SP.run(SP.SudokuSelfplayConfig(steps=1, run_dir=str(tmp_path), export_dir=str(paths.models_dir() / "sudoku")))
