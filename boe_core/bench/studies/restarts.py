"""Restarts (issue #29): view-hop decodes a Sudoku split; every grid the model does not believe
(read back in groups, some token below the gate) is decoded again from another view, and the grid
it believes most is kept (`boe_core.restarts`). No rule and no answer is read.

    python -m boe_core.bench restarts --split hard_val --n 200
    python -m boe_core.bench restarts --split hard_test --n 500 --attempts 2

Writes one row per setting to results/sudoku/restarts_<split>.csv (the pareto CSV's columns, so
`planner-paired` pairs it with the gap sweeps' decoders) and the per-puzzle outcomes beside it
(`_examples.parquet`). Forward-equivalents per puzzle count every decode and every read-back.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ... import paths

POLICY = "view-hop+restarts"


def label(attempts: int, groups: int, gate: float, stride: int, hops: int, tau: float) -> str:
    """The row's policy name: the defaults are left out, as the pareto CSV writes specs."""
    extra = [f"{k}={v}" for k, v, d in (("attempts", attempts, 2), ("groups", groups, 4), ("gate", gate, 0.9),
                                        ("stride", stride, 8), ("hops", hops, 1), ("tau", tau, 0.99)) if v != d]
    return POLICY + (":" + ",".join(extra) if extra else "")


def write_cell(out, policy: str, name: str, split: str, m, puzzles, solutions, final, forwards, notes, wall: float,
               threads: int, secondary: dict) -> Path:
    """Append one decoder's row (the pareto CSV's columns) and its per-puzzle outcomes to `out` and
    `<out>_examples.parquet`, replacing an earlier row of the same decoder, split and n; print its line."""
    from ..runner import machine_description, wilson

    n = puzzles.shape[0]
    solved = (final == solutions.numpy()).all(1).astype(float)
    cell_acc = ((final == solutions.numpy()) | (puzzles.numpy() != m.mask_id)).mean(1)
    key = hashlib.sha1(f"{policy}|{split}|{n}".encode()).hexdigest()[:16]
    lo, hi = wilson(solved.sum(), n)
    row = {"task": "sudoku", "model": "sudoku", "split": split, "policy": policy, "policy_name": name,
           "steps": 81, "n": n, "metric": "solve_rate", "higher_is_better": True, "quality": solved.mean(),
           "quality_lo": lo, "quality_hi": hi, "forwards": forwards.mean(), "backwards": 0.0,
           "backward_cost": 0.0, "fwd_equiv": forwards.mean(), "wall_s": wall, "wall_s_per_example": wall / n,
           "secondary": json.dumps({"cell_accuracy": round(float(cell_acc.mean()), 6), **secondary}),
           "note": "", "machine": machine_description(threads, "cpu"),
           "batch_size": n, "seed": 0, "key": key, "model_fp": "", "task_options": "{}",
           "created": datetime.now().isoformat(timespec="seconds")}
    ex = pd.DataFrame({"key": key, "policy": policy, "steps": 81, "batch": 0, "id": np.arange(n),
                       "solve_rate": solved, "cell_accuracy": cell_acc, "output": ["".join(map(str, r)) for r in final],
                       "forwards": forwards, "backwards": 0.0, "wall_s": wall / n, "note": notes})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    exf = out.with_name(out.stem + "_examples.parquet")
    old = pd.read_csv(out) if out.is_file() else pd.DataFrame()
    old_ex = pd.read_parquet(exf) if exf.is_file() else pd.DataFrame()
    if not old.empty:
        old, old_ex = old[old["key"] != key], old_ex[old_ex["key"] != key]
    pd.concat([old, pd.DataFrame([row])], ignore_index=True).to_csv(out, index=False)
    pd.concat([old_ex, ex], ignore_index=True).to_parquet(exf, index=False)
    print(f"{policy} on {split} ({n}): solves {solved.mean():.3f} [{lo:.2f}, {hi:.2f}] at "
          f"{forwards.mean():.1f} forward-equivalents a puzzle; {wall:.0f} s")
    return out


def main(argv=None):
    from ...restarts import restart
    from .sudoku_split import sudoku_split

    ap = argparse.ArgumentParser(prog="python -m boe_core.bench restarts", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="hard_val", choices=["hard_val", "hard_test", "val", "test"])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--attempts", type=int, default=2)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--gate", type=float, default=0.9)
    ap.add_argument("--stride", type=int, default=8)
    ap.add_argument("--hops", type=int, default=1, help="view-hop's hops")
    ap.add_argument("--tau", type=float, default=0.99, help="view-hop's τ")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="default results/sudoku/restarts_<split>.csv")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    m, puzzles, solutions = sudoku_split(a.split, a.n)
    n = puzzles.shape[0]
    t0 = time.time()
    res = restart(m, puzzles, policy="view-hop", steps=81, attempts=a.attempts, groups=a.groups, gate=a.gate,
                  stride=a.stride, hops=a.hops, tau=a.tau,
                  callback=lambda k, rows: print(f"attempt {k + 1}: {len(rows)} puzzle(s)", flush=True))
    wall = time.time() - t0
    policy = label(a.attempts, a.groups, a.gate, a.stride, a.hops, a.tau)
    notes = [f"attempts={k}, kept={j + 1}" for k, j in zip(res.attempts, res.kept)]
    out = write_cell(a.out or paths.results_dir() / "sudoku" / f"restarts_{a.split}.csv", policy, POLICY, a.split,
                     m, puzzles, solutions, res.final, res.forwards, notes, wall, a.threads,
                     {"attempts_mean": round(float(res.attempts.mean()), 3)})
    print(f"decodes per puzzle {res.attempts.mean():.2f}\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
