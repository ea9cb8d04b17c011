"""results/ has one folder per task: the naming rule, and the bench writing into the configured folder."""
from pathlib import Path

import pytest

from boe_core import paths


def test_a_result_file_is_named_task_what_split_tag(tmp_path, monkeypatch):
    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path))
    assert paths.results_for("sudoku") == tmp_path / "sudoku"
    assert paths.result_file("sudoku", "roots", "hard_val", ext="md") == tmp_path / "sudoku" / "roots_hard_val.md"
    assert paths.result_file("bio", "reasoning", "test", "_bio500") == tmp_path / "bio" / "reasoning_test_bio500.csv"
    assert paths.result_file("bio", "reasoning", "test", "bio500") == paths.result_file("bio", "reasoning", "test", "_bio500")
    assert paths.studies_dir() == tmp_path / "studies"
    assert not (tmp_path / "sudoku").exists()  # naming a file creates nothing
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="task="):
            paths.results_for(bad)


def test_a_sweep_under_the_results_folder_keeps_its_work_under_runs(tmp_path, monkeypatch):
    from boe_core.bench.runner import work_dir_for

    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("BOE_RUNS_DIR", str(tmp_path / "runs"))
    out = paths.result_file("sudoku", "pareto", "test")
    assert work_dir_for(out) == tmp_path / "runs" / "bench" / "sudoku" / "pareto_test"
    assert work_dir_for(tmp_path / "x.csv") == tmp_path / ".bench_work" / "x"  # elsewhere: beside the CSV


def test_the_frontier_bench_writes_into_the_tasks_folder(tmp_path, monkeypatch):
    """With no --out-dir the frontier's sweeps go to <BOE_RESULTS_DIR>/<task>/frontier_<split>.csv
    (the sweep itself is replaced by a recorder: its writing is the runner's, tested in test_bench)."""
    import boe_core.bench.runner as runner
    from boe_core.bench.frontier import FAMILIES, run_task

    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path))
    sweeps = []
    monkeypatch.setattr(runner, "run_sweep", sweeps.append)
    run_task("countdown", FAMILIES[:2], limit=2, batch_size=1, threads=1, split="val", quiet=True)
    assert {sw.out for sw in sweeps} == {tmp_path / "countdown" / "frontier_val.csv"}


def test_the_frontier_report_writes_the_study_over_the_tasks(tmp_path, monkeypatch):
    import pandas as pd

    from boe_core.bench.frontier import report

    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path))
    rows = [dict(task="t", split="test", model="m", metric="exact_match", n=10, backward_cost=2.0, policy=p, steps=s,
                 quality=q, quality_lo=q - 0.1, quality_hi=q + 0.1, fwd_equiv=float(s)) for p, s, q in
            [("confidence", 4, 0.5), ("confidence", 8, 0.6), ("boe", 4, 0.7)]]
    (tmp_path / "countdown").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "countdown" / "frontier_test.csv", index=False)
    md = report(["countdown", "sudoku"])  # sudoku has no frontier here: left out
    assert "### countdown" in md and "### sudoku" not in md
    assert (tmp_path / "studies" / "frontier_test.md").read_text() == md
    assert (tmp_path / "studies" / "frontier_test.png").is_file()


def test_the_checkouts_results_follow_the_layout():
    """Every committed result sits in a task's folder, studies/ or archive/ (README.md at the top)."""
    import subprocess

    root = Path(paths.__file__).resolve().parents[1]
    files = subprocess.run(["git", "ls-files", "results"], cwd=root, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    flat = [f for f in files if f.count("/") < 2 and f != "results/README.md"]
    assert flat == [], f"results files outside a task, studies or archive folder: {flat[:5]}"
