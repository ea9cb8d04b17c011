"""Pilot for issue #29, part 2 (second try): backtracking without a checker, on hard val.

The pilot-selfcheck study (pilot_selfcheck.py) found that the model's own grouped pseudo-likelihood tells a right
grid from a wrong one, but that independent samples rarely contain a right grid. Here the
candidates are made where the model doubts itself instead:

1. decode greedily (confidence, one cell per step) and score the grid: each decoded cell's log
   probability with its group of cells masked (6 interleaved groups, 6 forwards);
2. among the decoded cells the model now doubts (log p < log 0.5), take the one committed earliest
   (an early wrong commit is the likeliest root); if none is doubted, the least likely one;
3. go back to the step that committed it, write the model's second choice there instead (from the
   proposals recorded at that step), keep every earlier commit, and decode the rest greedily;
4. keep the new grid if its score is higher; repeat for R rounds (a cell already tried on the
   current grid is not tried again).

No Sudoku rule and no answer is read. Reported per round: the kept grid's solve rate, how often any
grid so far was right, and the mean forwards per puzzle. Validation split only.

    OMP_NUM_THREADS=1 flock /tmp/torch.lock .venv/bin/python -m boe_core.bench pilot-backtrack --n 100 --rounds 6
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ... import paths
from .pilot_selfcheck import loo_logp


def decode(m, canvas: torch.Tensor):
    """Greedy confidence at one cell per step: (final (n, 81), commit step (n, 81), -1 where the cell
    was not decoded by this run, top-k proposals at each cell's commit step (n, 81, k))."""
    from boe_core import generate

    masks = int((canvas == m.mask_id).sum(1).max())
    tr = generate(m, canvas=canvas, policy="confidence", steps=max(masks, 1))
    n = canvas.shape[0]
    step = np.full((n, 81), -1, np.int64)
    alts = np.zeros((n, 81, tr.records[0].topk_ids.shape[-1]), np.int64)
    for rec in tr.records:
        ch = rec.chosen
        step[ch] = rec.step
        alts[ch] = rec.topk_ids[ch]
    return np.asarray(tr.final_canvas), step, alts


def grid_score(m, grids, fixed, groups):
    lp = loo_logp(m, grids, fixed, groups)
    return lp, np.nansum(lp, -1)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench pilot-backtrack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="hard_val", choices=["hard_val", "val"])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--groups", type=int, default=6)
    ap.add_argument("--doubt", type=float, default=0.5, help="a decoded cell is doubted below this probability")
    ap.add_argument("--out", default=None, help="default results/sudoku/pilot_backtrack_search_<split>.json")
    a = ap.parse_args(argv)
    from .sudoku_split import sudoku_split

    torch.set_num_threads(1)
    t0 = time.time()
    m, ids, sol = sudoku_split(a.split, a.n)
    fixed = (ids != m.mask_id).numpy()
    sol = sol.numpy()
    n = a.n
    grid, step, alts = decode(m, ids)
    lp, score = grid_score(m, grid, fixed, a.groups)
    fwd = (~fixed).sum(1).astype(float) + a.groups
    ever = (grid == sol).all(1)
    tried = [set() for _ in range(n)]
    rows = [{"round": 0, "kept_solves": float((grid == sol).all(1).mean()), "any_so_far": float(ever.mean()),
             "forwards_per_puzzle": float(fwd.mean())}]
    for r in range(1, a.rounds + 1):
        canvas = np.array(grid)
        back = np.zeros(n, np.int64)
        for i in range(n):
            cells = [c for c in np.flatnonzero(~fixed[i]) if c not in tried[i]]
            if not cells:
                continue
            doubted = [c for c in cells if lp[i, c] < math.log(a.doubt)]
            x = min(doubted, key=lambda c: step[i, c]) if doubted else min(cells, key=lambda c: lp[i, c])
            tried[i].add(x)
            s = step[i, x]
            later = (~fixed[i]) & (step[i] >= s)
            canvas[i, later] = m.mask_id
            canvas[i, x] = alts[i, x, 1]  # the model's second choice at that step
            back[i] = s
        new, nstep, nalts = decode(m, torch.as_tensor(canvas))
        nlp, nscore = grid_score(m, new, fixed, a.groups)
        fwd += (canvas == m.mask_id).sum(1) + a.groups
        ever |= (new == sol).all(1)
        for i in range(n):
            if nscore[i] > score[i]:
                # the new run's commit steps: earlier commits keep theirs, the forced cell and the rest follow
                st = np.where(nstep[i] >= 0, back[i] + 1 + nstep[i], step[i])
                forced = (canvas[i] != grid[i]) & (canvas[i] != m.mask_id)
                st[forced] = back[i]
                al = np.where((nstep[i] >= 0)[:, None], nalts[i], alts[i])
                grid[i], step[i], alts[i], lp[i], score[i] = new[i], st, al, nlp[i], nscore[i]
                tried[i] = set()
        rows.append({"round": r, "kept_solves": float((grid == sol).all(1).mean()), "any_so_far": float(ever.mean()),
                     "forwards_per_puzzle": float(fwd.mean())})
        print(rows[-1], flush=True)
    info = {"split": a.split, "n": n, "groups": a.groups, "doubt": a.doubt, "model": "sudoku",
            "machine": "2-core CPU VM, 1 thread", "seconds": round(time.time() - t0, 1), "rows": rows}
    out = Path(a.out or paths.result_file("sudoku", "pilot_backtrack_search", a.split, ext="json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=1) + "\n")
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
