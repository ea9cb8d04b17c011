"""Evaluate a Sudoku MDM on held-out puzzles: solve rate, cell accuracy, first-error step.

    python -m boe_core.bench eval-sudoku                                   # shipped model, test split,
                                                                    # confidence + random, 1 cell/step
    python -m boe_core.bench eval-sudoku --policies confidence,margin,entropy,random,boe --n 200
    python -m boe_core.bench eval-sudoku --model runs/sudoku/export --split val

Decoding uses the project's sampler (`boe_core.generate` with `canvas=`), with
steps = (max blanks)/--per-step so that every row commits --per-step cells per step; the per-step
commits for the first-error step come from `boe_core.tasks.sudoku.trace_commits`.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from ... import paths
from ...tasks import sudoku as S


def load_rows(split: str, n: int | None):
    p = Path(split)
    if not p.is_file():
        p = paths.data_dir() / "sudoku" / f"heldout_{split}.jsonl"
    rows = [json.loads(l) for l in p.read_text().splitlines() if l.strip()]
    return rows[:n] if n else rows


def decode_with_sampler(model_ref, rows, policy, per_step, seed, batch, threads):
    from boe_core import DecodeConfig, generate, load_model

    adapter = load_model(str(model_ref))
    tok = adapter.tokenizer
    finals, commits = [], []
    for i in range(0, len(rows), batch):
        chunk = rows[i:i + batch]
        ids = torch.stack([S.puzzle_to_canvas(r["puzzle"], tok)[0] for r in chunk])
        blanks = int((ids == tok.mask_id).sum(1).max())
        steps = math.ceil(blanks / per_step)
        trace = generate(adapter, canvas=ids, config=DecodeConfig(policy=policy, steps=steps, seed=seed))
        finals += [torch.as_tensor(x) for x in trace.final_canvas]
        commits += [S.trace_commits(trace, b) for b in range(len(chunk))]
    return finals, commits, tok


def score(rows, finals, commits, tok):
    grids = [S.canvas_to_grid(x, tok) for x in finals]
    sols = [r["solution"] for r in rows]
    puzzles = [r["puzzle"] for r in rows]
    fes = [S.first_error_step(c, r["solution"], r["puzzle"], tok) for c, r in zip(commits, rows)]
    failed = [f for f in fes if f is not None]
    by_clues: dict = {}
    for g, r in zip(grids, rows):
        k = by_clues.setdefault(r["clues"], [0, 0])
        k[0] += g == r["solution"]
        k[1] += 1
    return {
        "n": len(rows),
        "solve_rate": S.solve_rate(grids, sols),
        "cell_accuracy": S.cell_accuracy(grids, sols, puzzles),
        "valid_grids": sum(S.verify(g, p).ok for g, p in zip(grids, puzzles)) / len(rows),
        "mean_first_error_step": (sum(failed) / len(failed)) if failed else None,
        "solve_rate_by_clues": {str(k): v[0] / v[1] for k, v in sorted(by_clues.items())},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench eval-sudoku", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="sudoku")
    ap.add_argument("--split", default="test", help="test | val | path to a jsonl")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--policies", default="confidence,random")
    ap.add_argument("--per-step", type=int, default=1, help="cells committed per step")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the results here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    rows = load_rows(a.split, a.n)
    print(f"model {a.model}  split {a.split} (n={len(rows)})  decoder boe_core.generate  "
          f"{a.per_step} cell(s)/step")
    results = {}
    for policy in [p.strip() for p in a.policies.split(",") if p.strip()]:
        t0 = time.time()
        finals, commits, tok = decode_with_sampler(a.model, rows, policy, a.per_step, a.seed, a.batch, a.threads)
        r = score(rows, finals, commits, tok)
        r["seconds"] = round(time.time() - t0, 1)
        results[policy] = r
        mfe = r["mean_first_error_step"]
        print(f"{policy:>10}: solve_rate {r['solve_rate']:.3f}  cell_acc {r['cell_accuracy']:.4f}  "
              f"valid {r['valid_grids']:.3f}  mean_first_error_step "
              f"{'-' if mfe is None else f'{mfe:.1f}'}  ({r['seconds']}s)  by clues {r['solve_rate_by_clues']}",
              flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"model": a.model, "split": a.split, "per_step": a.per_step,
                                            "decoder": "sampler",
                                            "results": results}, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
