"""The checker-free Sudoku decoders of issue #29 (the planner, view-hop, view-hop with restarts or
with backtracking) against the decoders they compete with, paired per puzzle.

Runs nothing: it reads the Sudoku gap sweeps (`results/sudoku/gap_{hard_test,test}.csv` and their
per-example files) and the restarts and backtracking runs
(`results/sudoku/{restarts,backtrack}_{hard_test,test}.csv`; the commands are in
docs/ordering_gap.md), keeps the problems both compared cells have, and writes one
row per (split, decoder, reference decoder): solve rates, forward-equivalents per puzzle, the
puzzles only one of the two solves and the exact McNemar p.

    python -m boe_core.bench planner-paired   # writes results/sudoku/planner_paired.{md,json}
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ... import paths
from ..paired import paired_counts
from .ordering_gap import cells

# each decoder at its defaults; its τ decides its steps (81 never binds)
DECODERS = (("planner", 81), ("view-hop", 81), ("view-hop+restarts", 81), ("view-hop+backtrack", 81))
REFERENCES = (("confidence", 24), ("confidence", 81), ("threshold", 81), ("rcr", 24), ("planner:views=0", 81),
              ("planner", 81), ("view-hop+restarts", 81))
SPLITS = {"hard test (27 clues)": ("sudoku/gap_hard_test.csv", "sudoku/restarts_hard_test.csv",
                                   "sudoku/backtrack_hard_test.csv"),
          "easy test (36-40 clues)": ("sudoku/gap_test.csv", "sudoku/restarts_test.csv", "sudoku/backtrack_test.csv")}


def shown(policy: str, steps: int) -> str:
    return f"{policy}, {'1 cell/step' if steps == 81 else f'{steps} steps'}"


def rows() -> list[dict]:
    out = []
    for split, csvs in SPLITS.items():
        d = cells(list(csvs))
        if d.empty:
            continue
        piv = d.pivot_table(index="id", columns=["policy", "steps"], values="value")
        fwd = d.pivot_table(index="id", columns=["policy", "steps"], values="fwd")
        for dec in DECODERS:
            if dec not in piv.columns:
                continue
            for ref in REFERENCES:
                if ref not in piv.columns or ref == dec:
                    continue
                both = piv[[dec, ref]].dropna()
                pc = paired_counts(both[dec], both[ref])
                out.append({"split": split, "n": pc["n_paired"], "decoder": dec[0],
                            "solved": round(float(both[dec].mean()), 3),
                            "fwd_equiv": round(float(fwd.loc[both.index, dec].mean()), 1),
                            "reference": shown(*ref), "reference_solved": round(float(both[ref].mean()), 3),
                            "reference_fwd_equiv": round(float(fwd.loc[both.index, ref].mean()), 1),
                            "only_decoder": pc["only_a"], "only_reference": pc["only_b"], "mcnemar_p": pc["mcnemar_p"]})
    return out


def markdown(rs: list[dict]) -> str:
    lines = ["| split | n | decoder | solves | fwd-eq | against | it solves | fwd-eq | only decoder | only it | p |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rs:
        lines.append(f"| {r['split']} | {r['n']} | {r['decoder']} | {r['solved']:.3f} | {r['fwd_equiv']:.1f} | {r['reference']} | "
                     f"{r['reference_solved']:.3f} | {r['reference_fwd_equiv']:.1f} | {r['only_decoder']} | "
                     f"{r['only_reference']} | {r['mcnemar_p']:.2g} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench planner-paired", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output stem (default results/sudoku/planner_paired)")
    a = ap.parse_args(argv)
    rs = rows()
    if not rs:
        raise SystemExit("no results yet: run the gap sweeps in docs/ordering_gap.md")
    out = Path(a.out or paths.results_dir() / "sudoku" / "planner_paired")
    out.parent.mkdir(parents=True, exist_ok=True)
    md = markdown(rs)
    out.with_suffix(".md").write_text(md + "\n")
    out.with_suffix(".json").write_text(json.dumps(rs, indent=1) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
