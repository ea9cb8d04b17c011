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
import time

import torch

from ... import paths

POLICY = "view-hop+restarts"


def label(attempts: int, groups: int, gate: float, stride: int, hops: int, tau: float) -> str:
    """The row's policy name: the defaults are left out, as the pareto CSV writes specs."""
    extra = [f"{k}={v}" for k, v, d in (("attempts", attempts, 2), ("groups", groups, 4), ("gate", gate, 0.9),
                                        ("stride", stride, 8), ("hops", hops, 1), ("tau", tau, 0.99)) if v != d]
    return POLICY + (":" + ",".join(extra) if extra else "")


def main(argv=None):
    from ...restarts import restart
    from ..sudoku_runs import sudoku_split, write_cell

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
