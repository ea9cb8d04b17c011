"""Pilot for issue #29, part 2: search without a checker. Decode each puzzle K times (the greedy
confidence run, then K-1 runs that sample the proposals at temperature T, each from its own seed)
and keep the grid the model itself believes most: no Sudoku rule and no answer is read.

How the model judges a finished grid (its pseudo-likelihood): each decoded cell is masked again,
alone (`--groups 0`, one forward per cell) or with the other cells of its group (`--groups G`: the
decoded cells split into G interleaved groups, one forward per group), and the model's log
probability of the digit written there is read. A wrong grid of a puzzle with one solution breaks a
rule somewhere, and a model trained on valid grids should doubt a digit its row, column or box
already holds; the leave-one-out remasking of issue #29 failed at *repairing* such grids (the wrong
cells support each other, and the re-decode writes them again), but choosing among K whole grids
needs only that the wrong ones score lower. Scores: the sum of the log probabilities (`sum`) or the
least of them (`min`).

Reported per (K, score, groups): the selected grid's solve rate, the greedy run's, how often any of
the K grids is right (what a perfect selector reaches), and forward passes per puzzle (K decodes of
`--steps` forwards, plus K x the scoring forwards). Validation split only; never tuned on test.

    OMP_NUM_THREADS=1 flock /tmp/torch.lock .venv/bin/python -m boe_core.bench pilot-selfcheck \\
        --split hard_val --n 100 --k 8 --steps 24 81

Resumable: every decode's final grids are cached under runs/pilot_issue29/ (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ... import paths

WORK = paths.runs_dir() / "pilot_issue29"


def decode(adapter, ids, steps: int, k: int, temperature: float) -> np.ndarray:
    """Final canvases (n, 81) of run k: greedy confidence for k = 0, sampled proposals after."""
    from boe_core import generate

    cache = WORK / f"cand_n{ids.shape[0]}_s{steps}_t{temperature}_k{k}.npy"
    if cache.is_file():
        return np.load(cache)
    tr = generate(adapter, canvas=ids, policy="confidence", steps=steps, seed=k,
                  temperature=0.0 if k == 0 else temperature)
    out = np.asarray(tr.final_canvas)
    np.save(cache, out)
    return out


@torch.no_grad()
def loo_logp(adapter, final: np.ndarray, fixed: np.ndarray, groups: int, batch: int = 512) -> np.ndarray:
    """(n, 81) float32: log p(written digit | the grid with its group masked) at decoded cells, NaN
    at clues. groups = 0: every decoded cell alone."""
    from boe_core.numerics import suppress

    n = final.shape[0]
    out = np.full(final.shape, np.nan, np.float32)
    seqs, where = [], []  # masked copies, and (row, cells) each one scores
    for i in range(n):
        cells = np.flatnonzero(~fixed[i])
        parts = [[c] for c in cells] if groups == 0 else [cells[g::groups] for g in range(groups)]
        for part in parts:
            if len(part) == 0:
                continue
            x = final[i].copy()
            x[part] = adapter.mask_id
            seqs.append(x)
            where.append((i, np.asarray(part)))
    for s in range(0, len(seqs), batch):
        x = torch.as_tensor(np.stack(seqs[s:s + batch]), dtype=torch.long)
        logits = suppress(adapter.head(adapter.hidden(adapter.embed(x), None)).float(), adapter.suppressed_ids)
        logp = torch.log_softmax(logits, -1).numpy()
        for j, (i, part) in enumerate(where[s:s + batch]):
            out[i, part] = logp[j, part, final[i, part]]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench pilot-selfcheck", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="hard_val", choices=["hard_val", "val"])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--steps", type=int, nargs="+", default=[24, 81])
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--groups", type=int, nargs="+", default=[0, 6], help="0: leave one out; G: G groups")
    ap.add_argument("--out", default=None, help="default results/sudoku/pilot_selfcheck_search_<split>.json")
    a = ap.parse_args(argv)
    from boe_core import load_model
    from boe_core.bench.tasks import make_task
    from boe_core.tasks import sudoku as S

    torch.set_num_threads(1)
    WORK.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    m = load_model("sudoku")
    task = make_task("sudoku")
    ex = task.load(a.split, a.n)
    ids, _ = task.canvas(m, ex)
    fixed = (ids != m.mask_id).numpy()
    sol = np.stack([S.puzzle_to_canvas(e["solution"], m.tokenizer)[0].numpy() for e in ex])
    blanks = int((~fixed[0]).sum())
    rows = []
    for steps in a.steps:
        finals = np.stack([decode(m, ids, steps, k, a.temperature) for k in range(a.k)])  # (K, n, 81)
        right = (finals == sol[None]).all(-1)  # (K, n)
        fwd_decode = min(steps, blanks)
        for groups in a.groups:
            cache = WORK / f"loo_n{a.n}_s{steps}_t{a.temperature}_g{groups}_k{a.k}.npy"
            if cache.is_file():
                lp = np.load(cache)
            else:
                lp = np.stack([loo_logp(m, finals[k], fixed, groups) for k in range(a.k)])  # (K, n, 81)
                np.save(cache, lp)
            fwd_score = blanks if groups == 0 else groups
            for score in ("sum", "min"):
                s = np.nansum(lp, -1) if score == "sum" else np.nanmin(lp, -1)  # (K, n)
                for K in sorted({1, 2, 4, a.k} & set(range(1, a.k + 1))):
                    pick = s[:K].argmax(0)
                    rows.append({"steps": steps, "groups": groups, "score": score, "K": K,
                                 "selected": float(right[pick, np.arange(a.n)].mean()),
                                 "greedy": float(right[0].mean()), "any_of_K": float(right[:K].any(0).mean()),
                                 "forwards_per_puzzle": K * fwd_decode + (K * fwd_score if K > 1 else 0)})
    info = {"split": a.split, "n": a.n, "temperature": a.temperature, "k": a.k, "model": "sudoku",
            "machine": "2-core CPU VM, 1 thread", "seconds": round(time.time() - t0, 1), "rows": rows}
    out = Path(a.out or paths.result_file("sudoku", "pilot_selfcheck_search", a.split, ext="json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=1) + "\n")
    for r in rows:
        print(r)
    print(f"wrote {out} in {info['seconds']} s")


if __name__ == "__main__":
    main()
