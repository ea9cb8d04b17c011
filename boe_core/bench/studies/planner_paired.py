"""The planner (issue #29) against the decoders it competes with, paired per puzzle.

Runs nothing: it reads the Sudoku gap sweeps (`results/sudoku/gap_{hard_test,test}.csv` and their
per-example files; the commands are in docs/ordering_gap.md), keeps the problems every compared
cell has, and writes one row per (split, reference decoder): solve rates, forward-equivalents per
puzzle, the puzzles only one of the two solves and the exact McNemar p.

    python -m boe_core.bench planner-paired   # writes results/sudoku/planner_paired.{md,json}
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ... import paths
from .ordering_gap import cells, mcnemar

PLANNER = ("planner", 81)  # the policy's defaults; its τ and views decide its steps (81 never binds)
REFERENCES = (("confidence", 24), ("confidence", 81), ("threshold", 81), ("rcr", 24), ("planner:views=0", 81))
SPLITS = {"hard test (27 clues)": "sudoku/gap_hard_test.csv", "easy test (36-40 clues)": "sudoku/gap_test.csv"}


def shown(policy: str, steps: int) -> str:
    return f"{policy}, {'1 cell/step' if steps == 81 else f'{steps} steps'}"


def rows() -> list[dict]:
    out = []
    for split, csv in SPLITS.items():
        d = cells([csv])
        if d.empty or PLANNER[0] not in set(d["policy"]):
            continue
        piv = d.pivot_table(index="id", columns=["policy", "steps"], values="value")
        fwd = d.pivot_table(index="id", columns=["policy", "steps"], values="fwd")
        if PLANNER not in piv.columns:
            continue
        for ref in REFERENCES:
            if ref not in piv.columns:
                continue
            both = piv[[PLANNER, ref]].dropna()
            a, b = both[PLANNER] == 1, both[ref] == 1
            only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
            out.append({"split": split, "n": len(both), "planner": round(float(a.mean()), 3),
                        "planner_fwd_equiv": round(float(fwd.loc[both.index, PLANNER].mean()), 1),
                        "reference": shown(*ref), "reference_solved": round(float(b.mean()), 3),
                        "reference_fwd_equiv": round(float(fwd.loc[both.index, ref].mean()), 1),
                        "only_planner": only_a, "only_reference": only_b, "mcnemar_p": mcnemar(only_a, only_b)})
    return out


def markdown(rs: list[dict]) -> str:
    lines = ["| split | n | planner solves | fwd-eq | against | it solves | fwd-eq | only planner | only it | p |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rs:
        lines.append(f"| {r['split']} | {r['n']} | {r['planner']:.3f} | {r['planner_fwd_equiv']:.1f} | {r['reference']} | "
                     f"{r['reference_solved']:.3f} | {r['reference_fwd_equiv']:.1f} | {r['only_planner']} | "
                     f"{r['only_reference']} | {r['mcnemar_p']:.2g} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench planner-paired", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output stem (default results/sudoku/planner_paired)")
    a = ap.parse_args(argv)
    rs = rows()
    if not rs:
        raise SystemExit("no planner results yet: run the gap sweeps in docs/ordering_gap.md")
    out = Path(a.out or paths.results_dir() / "sudoku" / "planner_paired")
    out.parent.mkdir(parents=True, exist_ok=True)
    md = markdown(rs)
    out.with_suffix(".md").write_text(md + "\n")
    out.with_suffix(".json").write_text(json.dumps(rs, indent=1) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
