"""The former scripts/eval_* and probe_* run as bench subcommands, each with its own parser."""
import json

import pytest

from boe_core.bench.cli import main
from boe_core.bench.studies import COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_study_is_a_bench_subcommand_with_its_own_flags(name, capsys):
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert f"usage: python -m boe_core.bench {name}" in capsys.readouterr().out


def test_the_bench_help_lists_the_studies(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_eval_sudoku_scores_a_model_through_the_bench(tiny_sudoku_dir, tmp_path):
    """Three val puzzles, two policies: every puzzle is scored, one cell per step, and the JSON says so."""
    out = tmp_path / "eval.json"
    assert main(["eval-sudoku", "--model", str(tiny_sudoku_dir), "--split", "val", "--n", "3",
                 "--policies", "confidence,random", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["per_step"] == 1 and set(res["results"]) == {"confidence", "random"}
    for r in res["results"].values():
        assert r["n"] == 3 and 0.0 <= r["cell_accuracy"] <= 1.0


def test_ordering_gap_reads_the_configured_results_folder(monkeypatch, tmp_path):
    """With no oracle results there it stops with the message that says what to run, and writes nothing."""
    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match="no oracle results yet"):
        main(["ordering-gap"])
    assert list(tmp_path.iterdir()) == []


def test_probe_order_walks_every_blank_and_scores_the_lookahead(tmp_path):
    """Two hard val puzzles: one state per blank along the oracle's walk, shares in [0, 1], and the
    lookahead's pick rates for confidence and every signal."""
    stem = tmp_path / "probe"
    assert main(["probe-order", "--n", "2", "--lookahead-n", "1", "--depth", "2", "--out", str(stem)]) == 0
    res = json.loads(stem.with_suffix(".json").read_text())
    assert res["states"] == 2 * 54 and sum(b["states"] for b in res["bins"]) == res["states"]
    assert 0.0 <= res["pick_wrong_share"] <= 1.0 and res["oracle_walk_solves"] == 1.0
    picks = res["lookahead"]["picks_right"]
    assert set(picks) == {"confidence", "cascade logp", "min confidence", "entropy", "cells left", "read-back",
                          "boe score", "boe tis", "boe grad norm"}
    assert "| top confidence | states | pick wrong |" in stem.with_suffix(".md").read_text()
