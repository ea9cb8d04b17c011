"""The model card (`python -m boe_core.train.card`) reads a training log: a 'done' line belongs to the
session it ends; its command line names the recipe and only the flags that differ from its defaults."""
from boe_core.train.card import parse_log, recipe_of, train_command

LOG = """2026-01-01 10:00:00 start: 1.00M params, config {"d_model": 8}, args {"minutes": 10}
2026-01-01 10:05:00 step 25 lr 1.0e-03 elapsed_min 5.0 a:loss=1.0
2026-01-01 10:10:00 done: step 50, 10.0 min; val exact match {"a": 0.1}
2026-01-01 11:00:00 resume at step 50: 1.00M params, config {"d_model": 8}, args {"minutes": 20}
2026-01-01 11:05:00 checkpoint step 75; val exact match {"a": 0.2} (3s)
2026-01-01 11:06:00 step 80 lr 1.0e-03 elapsed_min 15.0 a:loss=0.5
"""


def test_a_resume_after_done_leaves_the_run_unfinished(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(LOG)
    log = parse_log(p)
    assert len(log["sessions"]) == 2 and log["sessions"][1]["args"] == {"minutes": 20}
    assert log["done"] is None
    assert [c["line"].split(";")[0] for c in log["checkpoints"]] == ["checkpoint step 75"]
    p.write_text(LOG + "2026-01-01 11:10:00 done: step 100, 20.0 min; val exact match {}\n")
    assert parse_log(p)["done"].startswith("done: step 100")


def test_the_reproduce_command_is_the_recipe_with_the_flags_it_changed():
    assert [recipe_of({"task": t}) for t in ("text", "bio", "sudoku6", "countdown")] == ["kjv", "bio", "sudoku6", "reasoning"]
    args = {"name": "bio", "minutes": 55.0, "p_word": 0.5, "lr": 0.0005, "resume": True, "tasks": ["bio"], "run_dir": "runs/bio3"}
    assert train_command("bio", args) == ("python -m boe_core.train bio --lr 0.0005 --tasks bio --run-dir runs/bio3")
    assert train_command("kjv", {"d_model": 192, "n_layers": 6}) == "python -m boe_core.train kjv --d-model 192"
