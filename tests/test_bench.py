"""The benchmark harness (boe_core.bench): specs, tasks, metrics, the sweep, resumption, charts.

Everything runs on tiny random models saved to a tmp folder and on tests/fixtures (seconds)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from boe_core.bench import (Sweep, frontier_figure, make_extractor, make_task, pareto_mask, parse_spec,
                            parse_specs, read_results, run_sweep)
from boe_core.bench.runner import wilson, work_dir_for
from boe_core.bench.textmetrics import distinct_n
from boe_core.errors import ConfigError

FIX = Path(__file__).parent / "fixtures"




@pytest.fixture(scope="session")
def text_model(tmp_path_factory):
    from boe_core import TinyMDMAdapter

    path = tmp_path_factory.mktemp("tiny_text")
    a = TinyMDMAdapter.random(symbols="abcdef0123456789 #", d_model=16, n_layers=1, max_length=48, seed=0)
    a.model.save_pretrained(path)
    a.tokenizer.save(path)
    return str(path)


# --- specs -----------------------------------------------------------------------------------
def _knobs(cfg):
    """The policy's own settings."""
    return cfg.settings


def test_spec_parsing_and_canonical_labels():
    assert parse_spec("boe").label == "boe"
    s = parse_spec("boe:rho=0.5,gamma=2")
    assert s.label == "boe:gamma=2,rho=0.5" == parse_spec("boe:gamma=2:rho=0.5").label
    cfg = s.config(steps=12, seed=3)
    assert (cfg.policy, cfg.steps, cfg.seed, _knobs(cfg).rho, _knobs(cfg).gamma) == ("boe", 12, 3, 0.5, 2)
    assert _knobs(parse_spec("lookahead:r=8").config(steps=4)).r == 8
    assert _knobs(parse_spec("boe:linearize_at=surrogate").config(steps=4)).linearize_at == "surrogate"
    assert [p.label for p in parse_specs(["boe", "confidence", "boe"])] == ["boe", "confidence"]


@pytest.mark.parametrize("bad,field", [("nope", "policy"), ("boe:foo=1", "foo"), ("boe:steps=4", "steps"),
                                       ("boe:rho=2", "rho"), ("boe:rho", "policy"),
                                       ("boe:linearize_at=later", "linearize_at")])
def test_bad_specs_name_the_field(bad, field):
    with pytest.raises(ConfigError) as e:
        parse_spec(bad)
    assert e.value.field == field


# --- small pure pieces -----------------------------------------------------------------------
def test_extractors():
    last = make_extractor("last-number")
    assert last("so 3 + 4 = 7.\n#### 1,250") == "1250"
    assert last("x = 2.50") == "2.5" and last("-3 apples") == "-3" and last("none") is None
    rx = make_extractor(r"regex:answer is (\w+)")
    assert rx("the answer is foo. no, the answer is bar") == "bar" and rx("nothing") is None
    with pytest.raises(ConfigError):
        make_extractor("regex:(")


def test_distinct_n_and_wilson():
    assert distinct_n(["a a a a"], 1) == 0.25 and distinct_n(["a b", "c d"], 2) == 1.0
    assert math.isnan(distinct_n(["a"], 2)) and distinct_n(["x,,,,"], 1) == 0.4
    lo, hi = wilson(5, 10)
    assert 0.2 < lo < 0.5 < hi < 0.8 and wilson(0, 10)[0] == 0.0


def test_pareto_mask():
    x = [1, 2, 3, 4]
    y = [0.1, 0.5, 0.4, 0.9]
    assert pareto_mask(x, y).tolist() == [True, True, False, True]
    assert pareto_mask(x, [9, 5, 6, 1], higher_is_better=False).tolist() == [True, True, False, True]


def test_work_dir_outside_results(tmp_path):
    assert work_dir_for(tmp_path / "x.csv") == tmp_path / ".bench_work" / "x"


# --- tasks -----------------------------------------------------------------------------------
def test_sudoku_task_scores_the_solution(tiny_sudoku_dir):
    from boe_core import load_model

    task = make_task("sudoku")
    ex = task.load(str(FIX / "sudoku_tiny.jsonl"), limit=2)
    a = load_model(tiny_sudoku_dir)
    ids, am = task.canvas(a, ex)
    assert ids.shape == (2, 81) and am is None
    from boe_core.tasks.sudoku import puzzle_to_canvas

    solved = torch.stack([puzzle_to_canvas(e["solution"], a.tokenizer)[0] for e in ex]).numpy()
    s = task.score(a, ex, solved)
    assert [r["solve_rate"] for r in s] == [1.0, 1.0] and s[0]["cell_accuracy"] == 1.0
    s = task.score(a, ex, ids.numpy())
    assert s[0]["solve_rate"] == 0.0 and s[0]["cell_accuracy"] == 0.0


def test_kjv_infill_task_scores_the_target():
    from boe_core import TinyMDMAdapter
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
    from boe_core.tasks import kjv
    from boe_core.tokenization import MDMTokenizer

    if not MDMTokenizer.exists_in(kjv.MODEL_DIR) or not kjv.DATA_FILE.is_file():
        pytest.skip("KJV tokenizer or verses not present")
    tok = MDMTokenizer.load(kjv.MODEL_DIR)
    a = TinyMDMAdapter(TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=128, d_model=8, n_layers=1,
                                             n_heads=2)), tok, name="kjv-tiny")
    task = make_task("kjv-infill", mask_ratio=0.5)
    ex = task.load("val", limit=3)
    ids, am = task.canvas(a, ex)
    assert ids.shape[0] == 3 and (ids == a.mask_id).any(1).all()
    targets = [task._example(a, e)[2] for e in ex]
    final = ids.clone().numpy()
    for i, t in enumerate(targets):
        final[i, :len(t)] = t.numpy()
    s = task.score(a, ex, final)
    assert all(r["exact_match"] == 1.0 and r["token_accuracy"] == 1.0 for r in s)
    again, _ = task.canvas(a, ex[::-1])  # the span of a verse does not depend on its batch
    assert torch.equal(again[0, :len(targets[2])], ids[2, :len(targets[2])])


# --- the sweep -------------------------------------------------------------------------------
SPECS = ["random", "confidence", "lookahead:r=4", "boe", "boe:linearize_at=surrogate"]


def _sudoku_sweep(model, out, **kw):
    base = dict(task=make_task("sudoku"), model=model, specs=parse_specs(SPECS), budgets=[4, 8],
                split=str(FIX / "sudoku_tiny.jsonl"), limit=4, batch_size=2, out=out, progress=False,
                dtype="float64", backward_cost=None)
    base.update(kw)
    return Sweep(**base)


def test_sudoku_sweep_costs_resume_and_chart(tiny_sudoku_dir, tmp_path, monkeypatch):
    out = tmp_path / "sudoku_pareto.csv"
    df = run_sweep(_sudoku_sweep(str(tiny_sudoku_dir), out))
    assert len(df) == len(SPECS) * 2 and set(df["n"]) == {4}
    kappa = float(df["backward_cost"].iloc[0])
    assert kappa > 0 and (df["backward_cost"] == kappa).all()
    by = df.set_index(["policy", "steps"])
    assert by.loc[("confidence", 8), "forwards"] == 8 and by.loc[("confidence", 8), "backwards"] == 0
    assert by.loc[("boe", 8), "backwards"] > 0
    assert by.loc[("boe:linearize_at=surrogate", 8), "forwards"] > 8  # one extra forward per steered step
    for _, r in df.iterrows():
        assert r["fwd_equiv"] == pytest.approx(r["forwards"] + kappa * r["backwards"])
        assert 0 <= r["quality"] <= 1 and r["quality_lo"] <= r["quality"] <= r["quality_hi"]
        assert r["wall_s"] > 0
    assert "raised" in by.loc[("lookahead:r=4", 4), "note"]  # 4 steps over ~42 blanks: b > 4
    ex = pd.read_parquet(tmp_path / "sudoku_pareto_examples.parquet")
    assert len(ex) == 4 * len(df) and {"output", "solve_rate", "cell_accuracy"} <= set(ex.columns)

    # a rerun with one more budget computes only the new cells
    import boe_core.bench.runner as R

    calls = []
    real = R._run_batch
    monkeypatch.setattr(R, "_run_batch", lambda *a, **k: calls.append(a[4]) or real(*a, **k))
    df2 = run_sweep(_sudoku_sweep(str(tiny_sudoku_dir), out, budgets=[4, 8, 2]))
    assert len(df2) == len(SPECS) * 3 and set(calls) == {2} and len(calls) == len(SPECS) * 2
    old = df.set_index("key")["created"]
    assert (df2.set_index("key").loc[old.index, "created"] == old).all()

    fig = frontier_figure(out)
    names = [t.name for t in fig.data]
    assert names[:len(SPECS)] == SPECS and names[-1] == "Pareto frontier"
    assert len(fig.layout.updatemenus[0].buttons) == 2  # forward-equivalents <-> wall-clock
    from boe_core.bench.plot import write_html

    html = write_html(out, tmp_path / "f.html")
    assert "Pareto frontier" in html.read_text()
    from boe_core.bench.report import markdown_table

    md = markdown_table(out).splitlines()
    assert "solve_rate [95% CI]" in md[0] and "cell_accuracy" in md[0] and len(md) == 2 + len(df2)


def test_jsonl_task_end_to_end(text_model, tmp_path):
    task = make_task("jsonl", data=str(FIX / "qa_tiny.jsonl"), prompt_field="question", gen_length=6)
    ex = task.load("test", None)
    assert [e["gold"] for e in ex] == ["12", "3", "1250", "7", "0"]
    df = run_sweep(Sweep(task=task, model=text_model, specs=parse_specs(["confidence", "boe"]), budgets=[3],
                         split="test", batch_size=2, out=tmp_path / "qa.csv", progress=False, backward_cost=2.0))
    assert len(df) == 2 and set(df["n"]) == {5} and (df["metric"] == "exact_match").all()
    sec = json.loads(df["secondary"].iloc[0])
    assert {"distinct_1", "distinct_2", "distinct_3"} <= set(sec)
    boe = df[df["policy"] == "boe"].iloc[0]
    assert boe["fwd_equiv"] == pytest.approx(boe["forwards"] + 2.0 * boe["backwards"])


def test_tune_refuses_the_test_split(capsys):
    from boe_core.bench.cli import main

    assert main(["tune", "--task", "sudoku", "--budgets", "4", "--split", "test"]) == 2
    assert "validation split only" in capsys.readouterr().err


def test_fidelity_is_a_bench_subcommand(capsys):
    """README's `python -m boe_core.bench fidelity ...` reaches the fidelity parser."""
    from boe_core.bench.cli import main

    with pytest.raises(SystemExit) as e:
        main(["fidelity", "--help"])
    assert e.value.code == 0 and "--trajectory-policy" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["fidelity", "--task", "nope"])
    assert e.value.code == 2 and "--task" in capsys.readouterr().err


def test_tune_grid_specs():
    from boe_core.bench.tune import grid_specs, parse_grid

    from boe_core.config import DecodeConfig

    d = DecodeConfig(policy="boe").settings  # the grid is built around the shipped defaults
    other = "surrogate" if d.linearize_at != "surrogate" else "current"
    g = parse_grid([f"rho={d.rho},0.9", f"linearize_at={d.linearize_at},{other}"])
    labels = [s.label for s in grid_specs(g)]
    assert labels == ["boe", "boe:rho=0.9", f"boe:linearize_at={other}"]  # defaults collapse onto 'boe'
    assert len(grid_specs(g, "full")) == 4


def test_rewriting_examples_keeps_cells_whose_work_folder_is_gone(tmp_path):
    """A rerun rebuilds the per-example rows of the cells it has work folders for, and keeps the
    rows of the other cells in the results file (they were computed elsewhere): none are dropped."""
    import json

    import pandas as pd

    from boe_core.bench.runner import _write_examples, examples_path

    out, work = tmp_path / "sweep.csv", tmp_path / "work"
    pd.DataFrame({"key": ["gone", "gone", "stale"], "policy": ["a", "a", "b"], "steps": [4, 4, 8],
                  "id": [0, 1, 0], "exact_match": [1.0, 0.0, 0.0]}).to_parquet(examples_path(out))
    (work / "here").mkdir(parents=True)
    (work / "here" / "cell.json").write_text(json.dumps({"policy": "c", "steps": 2}))
    pd.DataFrame({"id": [0], "exact_match": [1.0]}).to_parquet(work / "here" / "b0000.parquet")
    _write_examples(out, work, {"gone", "here"})
    got = pd.read_parquet(examples_path(out))
    assert sorted(got["key"]) == ["gone", "gone", "here"]  # "stale" is no cell of the results any more
    assert got.loc[got["key"] == "here", "policy"].tolist() == ["c"]
