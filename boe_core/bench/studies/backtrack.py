"""Backtracking over view-hop's guesses (issue #29): each puzzle decoded by view-hop, the model's
read-back checked before each guess and on the finished grid, the latest guess undone (its cell
takes the runner-up digit) when a check doubts (`boe_core.backtrack`). No rule and no answer is read.

    python -m boe_core.bench backtrack --split hard_val --n 200 --flips 6
    python -m boe_core.bench backtrack --split hard_test --n 500

Writes one row per setting to results/sudoku/backtrack_<split>.csv (the pareto CSV's columns, so
`planner-paired` pairs it with the gap sweeps' decoders) and the per-puzzle outcomes beside it.
Forward-equivalents per puzzle count every decoding step and every read-back.
"""
from __future__ import annotations

import argparse
import time

import torch

from ... import paths

POLICY = "view-hop+backtrack"
DEFAULTS = {"flips": 6, "groups": 2, "doubt": 0.1, "final_groups": 4, "gate": 0.9}


def main(argv=None):
    from ...backtrack import BacktrackSettings, backtrack
    from ..sudoku_runs import sudoku_split, write_cell

    ap = argparse.ArgumentParser(prog="python -m boe_core.bench backtrack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="hard_val", choices=["hard_val", "hard_test", "val", "test"])
    ap.add_argument("--n", type=int, default=200)
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="default results/sudoku/backtrack_<split>.csv")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    s = BacktrackSettings(**{k: getattr(a, k) for k in DEFAULTS}).validate()
    m, puzzles, solutions = sudoku_split(a.split, a.n)
    n = puzzles.shape[0]
    t0 = time.time()
    res = backtrack(m, puzzles, settings=s,
                    callback=lambda b: b % 50 == 0 and print(f"puzzle {b + 1} of {n}", flush=True))
    wall = time.time() - t0
    changed = [f"{k}={getattr(a, k)}" for k, v in DEFAULTS.items() if getattr(a, k) != v]
    policy = POLICY + (":" + ",".join(changed) if changed else "")
    notes = [f"undos={int(f)}" for f in res.flips]
    out = write_cell(a.out or paths.results_dir() / "sudoku" / f"backtrack_{a.split}.csv", policy, POLICY, a.split,
                     m, puzzles, solutions, res.final, res.forwards, notes, wall, a.threads,
                     {"undos_mean": round(float(res.flips.mean()), 3)})
    print(f"guesses undone per puzzle {res.flips.mean():.2f}\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
