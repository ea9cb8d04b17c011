"""Sudoku runs outside the policy sweeps (the searches over view-hop's decodes, the Sudoku studies):
the shipped model and a split's puzzles as canvases, and one decoder's row written in the pareto
CSV's columns so the paired tables and the frontier read it like any sweep's."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch


def sudoku_split(split: str, n: int):
    """(model, puzzles (n, 81) long with [MASK] at the blanks, solutions (n, 81) long)."""
    from boe_core import load_model
    from boe_core.bench.tasks import make_task
    from boe_core.tasks import sudoku as S

    m = load_model("sudoku")
    ex = make_task("sudoku").load(split, n)
    puzzles = torch.stack([S.puzzle_to_canvas(e["puzzle"], m.tokenizer)[0] for e in ex])
    solutions = torch.stack([S.puzzle_to_canvas(e["solution"], m.tokenizer)[0] for e in ex])
    return m, puzzles, solutions


def write_cell(out, policy: str, name: str, split: str, m, puzzles, solutions, final, forwards, notes, wall: float,
               threads: int, secondary: dict) -> Path:
    """Append one decoder's row (the pareto CSV's columns) and its per-puzzle outcomes to `out` and
    `<out>_examples.parquet`, replacing an earlier row of the same decoder, split and n; print its line."""
    from .runner import machine_description, wilson

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
