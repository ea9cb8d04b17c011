"""Sharded sweep: two CPU processes under `accelerate launch` give the same merged results as one."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.slow  # two processes through accelerate


def _args(model, out):
    # float64: BoE's ranking of near-tied candidates on a random model must not hinge on float32
    # rounding, which may differ between processes with different allocation histories.
    return ["pareto", "--task", "sudoku", "--model", str(model), "--dtype", "float64", "--split",
            str(FIX / "sudoku_tiny.jsonl"), "--limit", "5", "--batch-size", "2", "--budgets", "4",
            "--policies", "confidence", "boe", "--backward-cost", "2.5", "--quiet", "--no-plot", "--out", str(out)]


def test_two_processes_match_one(tiny_sudoku_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    one = tmp_path / "one" / "r.csv"
    two = tmp_path / "two" / "r.csv"
    from boe_core.bench.cli import main

    assert main(_args(tiny_sudoku_dir, one)) == 0  # one process (this one)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--cpu",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port", "29517", "-m", "boe_core.bench"]
    r = subprocess.run(launch + _args(tiny_sudoku_dir, two), cwd=ROOT, env=env, timeout=300, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    cols = ["policy", "steps", "n", "quality", "forwards", "backwards", "fwd_equiv", "key"]
    a = pd.read_csv(one)[cols].sort_values(cols[:2]).reset_index(drop=True)
    b = pd.read_csv(two)[cols].sort_values(cols[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    k = ["key", "id"]
    ea = pd.read_parquet(one.with_name("r_examples.parquet")).sort_values(k).reset_index(drop=True)
    eb = pd.read_parquet(two.with_name("r_examples.parquet")).sort_values(k).reset_index(drop=True)
    assert len(ea) == 10
    pd.testing.assert_frame_equal(ea[k + ["batch", "output", "solve_rate", "forwards", "backwards"]],
                                  eb[k + ["batch", "output", "solve_rate", "forwards", "backwards"]])
    # both processes wrote shards: batches 0-1 from rank 0, batch 2 from rank 1 (work folder)
    assert len(list((two.parent / ".bench_work" / "r").glob("*/b*.parquet"))) == 6
