"""How `reread-surprise`'s weight was chosen: hit@1 / hit@3 of read-back - w x log p at several w,
rebuilt from the per-run scores the roots bench cached (no model is run).

    python -m boe_core.bench roots-weight --runs sudoku:hard_val:confidence:12 arith-cot:val:confidence:28

Each `task:split:policy:steps` names a cache folder, results/<task>/roots/<split>_<policy>_<steps>/,
written by `python -m boe_core.bench roots ... --methods lowest-confidence counterfactual-reread`. Use
validation runs only: the weight is chosen here.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

WEIGHTS = (0, 2, 4, 8, 10, 12, 16, 24)


def rooted_runs(task: str, split: str, policy: str, steps: int) -> list[dict]:
    from ..roots import cache_dir

    d = cache_dir(task, split, policy, steps)
    runs = [json.loads(f.read_text()) for f in sorted(d.glob("*.json"))]
    need = ("counterfactual-reread", "lowest-confidence")
    runs = [r for r in runs if not r["solved"] and r.get("root") is not None]
    missing = [r["idx"] for r in runs if not all(k in r["scores"] for k in need)]
    if not runs or missing:
        raise SystemExit(f"{d}: {len(runs)} rooted runs cached, {len(missing)} without {need}; "
                         f"run `python -m boe_core.bench roots --task {task} --split {split} ...` first")
    return runs


def hits(runs: list[dict], weight: float) -> tuple[float, float]:
    from boe_core.roots import pessimistic_rank

    ranks = []
    for r in runs:
        p = -np.asarray(r["scores"]["lowest-confidence"], np.float64)
        s = np.asarray(r["scores"]["counterfactual-reread"], np.float64) - weight * np.log(np.maximum(p, 1e-45))
        ranks.append(pessimistic_rank(s, r["root"]))
    ranks = np.array(ranks)
    return float((ranks <= 1).mean()), float((ranks <= 3).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench roots-weight", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", default=["sudoku:hard_val:confidence:12", "arith-cot:val:confidence:28"])
    ap.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    a = ap.parse_args(argv)
    sets = {}
    for spec in a.runs:
        task, split, policy, steps = spec.split(":")
        sets[spec] = rooted_runs(task, split, policy, int(steps))
    table = {w: {k: hits(v, w) for k, v in sets.items()} for w in a.weights}
    best = max(a.weights, key=lambda w: (min(h[0] for h in table[w].values()), min(h[1] for h in table[w].values())))
    print("| runs (rooted) | " + " | ".join(f"w = {w:g}" for w in a.weights) + " |")
    print("|---|" + "---|" * len(a.weights))
    for k, v in sets.items():
        print(f"| {k} ({len(v)}) | " + " | ".join(f"{table[w][k][0]:.2f} / {table[w][k][1]:.2f}" for w in a.weights) + " |")
    print(f"\nbest (largest smallest hit@1, then hit@3): w = {best:g}")
    return 0


if __name__ == "__main__":
    main()
