"""The ordering gap table (issue #29): per task and budget, the oracle order's solve rate (a ceiling
that reads the answer), the best checker-free policy's, and confidence's, on the same examples.

Runs nothing: it reads the bench's results CSVs and per-example parquet files (the commands that
make them are in docs/ordering_gap.md) and keeps, per task, the examples every row has (the first n
of the split, n being the smallest run's), so every number in a row is on the same problems.

    python -m boe_core.bench ordering-gap   # writes results/studies/ordering_gap.csv and .md
"""
from __future__ import annotations

import argparse
import json
from math import comb
from pathlib import Path

import pandas as pd

from ... import paths
ORACLE, ORACLE_RIGHT = "oracle", "oracle:only_right=true"
LABELS = {ORACLE: "oracle (reads the answer)", ORACLE_RIGHT: "oracle, only right commits (reads the answer)"}

# task label -> (result CSVs under the results folder, {budget label: steps}); a CSV's cells are taken
# where model and task options match the first CSV's oracle cells
SOURCES = {
    # the searches over view-hop (restarts, backtracking) choose their own steps: in the 81-step rows
    "sudoku, easy test (36-40 clues)": (["sudoku/gap_test.csv", "sudoku/restarts_test.csv", "sudoku/backtrack_test.csv"],
                                        {"24 steps (shipped)": 24, "1 cell/step": 81}),
    "sudoku, hard test (27 clues)": (["sudoku/gap_hard_test.csv", "sudoku/restarts_hard_test.csv",
                                      "sudoku/backtrack_hard_test.csv"], {"24 steps (shipped)": 24, "1 cell/step": 81}),
    "sudoku6": (["sudoku6/reasoning_test_gap.csv", "sudoku6/reasoning_test.csv"],
                {"2 tokens/step (shipped)": 24, "1 token/step": 48}),
    "arith-cot": (["arith-cot/reasoning_test_gap.csv", "arith-cot/reasoning_test.csv"],
                  {"2 tokens/step (shipped)": 28, "1 token/step": 56}),
    "bio": (["bio/reasoning_test_gap_bio.csv", "bio/reasoning_test_bio500v2.csv"],
            {"2 tokens/step (shipped)": 32, "1 token/step": 64}),
}


def mcnemar(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value for b vs c discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def cells(csvs: list[str]) -> pd.DataFrame:
    """Per-example rows (policy, steps, id, value, fwd) of every cell of the CSVs that matches the
    model and task options of the first CSV's oracle cells."""
    frames, ref = [], None
    for name in csvs:
        p = paths.results_dir() / name
        if not p.is_file():
            continue
        df = pd.read_csv(p)
        if ref is None:
            o = df[df["policy"].str.startswith(ORACLE)]
            if o.empty:
                return pd.DataFrame()
            ref = (o["model"].iloc[0], o["task_options"].iloc[0])
        df = df[(df["model"] == ref[0]) & (df["task_options"] == ref[1])]
        ex = pd.read_parquet(p.with_name(p.stem + "_examples.parquet"))
        for r in df.itertuples():
            e = ex[ex["key"] == r.key]
            if e.empty:
                continue
            frames.append(pd.DataFrame({"policy": r.policy, "steps": r.steps, "id": e["id"].values,
                                        "value": e[r.metric].values.astype(float),
                                        "fwd": e["forwards"].values + r.backward_cost * e["backwards"].values,
                                        "source": name, "n_cell": r.n}))
    if not frames:
        return pd.DataFrame()
    d = pd.concat(frames, ignore_index=True)
    # one cell per (policy, steps): the largest run (several sizes may share a CSV)
    big = d.groupby(["policy", "steps"])["n_cell"].transform("max")
    d = d[d["n_cell"] == big]
    return d.drop_duplicates(["policy", "steps", "id"])


def table() -> pd.DataFrame:
    rows = []
    for task, (csvs, budgets) in SOURCES.items():
        d = cells(csvs)
        if d.empty:
            continue
        for label, steps in budgets.items():
            b = d[d["steps"] == steps]
            if ORACLE not in set(b["policy"]) or "confidence" not in set(b["policy"]):
                continue
            n = int(b[b["policy"].str.startswith(ORACLE)].groupby("policy")["id"].nunique().min())
            b = b[b["id"] < n]
            q = b.groupby("policy")["value"].mean()
            fwd = b.groupby("policy")["fwd"].mean()
            free = q.drop([p for p in q.index if p.startswith(ORACLE)])
            best = free.sort_values(ascending=False, kind="stable").index[0]
            conf = q["confidence"]
            # the ceiling: the better oracle (at b per step a right commit may be missing when fewer
            # than b proposals are right; only_right then waits, within the same forwards)
            ceil = max([p for p in (ORACLE, ORACLE_RIGHT) if p in q.index], key=lambda p: q[p])
            piv = b.pivot_table(index="id", columns="policy", values="value")
            only_o = int(((piv[ceil] == 1) & (piv["confidence"] == 0)).sum())
            only_c = int(((piv[ceil] == 0) & (piv["confidence"] == 1)).sum())
            gap = q[ceil] - conf
            rows.append({
                "task": task, "budget": label, "steps": steps, "n": n,
                "oracle": q[ORACLE], "oracle_only_right": q.get(ORACLE_RIGHT, float("nan")),
                "best_policy": best, "best": q[best], "best_fwd_equiv": fwd[best], "confidence": conf,
                "ceiling": q[ceil], "ceiling_policy": ceil, "gap": gap, "gap_closed_by_best": (q[best] - conf) / gap if gap > 0 else float("nan"),
                "oracle_vs_confidence": f"+{only_o} / -{only_c} (p={mcnemar(only_o, only_c):.2g})",
                "policies_compared": ", ".join(sorted(free.index)),
            })
    return pd.DataFrame(rows)


def markdown(t: pd.DataFrame) -> str:
    lines = ["| task | budget | n | oracle, b per step | oracle, only right commits | best checker-free policy | "
             "confidence | gap (ceiling − confidence) | ceiling vs confidence | gap the best closes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        orr = "" if pd.isna(r.oracle_only_right) else f"{r.oracle_only_right:.3f}"
        closed = "" if pd.isna(r.gap_closed_by_best) else f"{100 * r.gap_closed_by_best:.0f}%"
        lines.append(f"| {r.task} | {r.budget} | {r.n} | {r.oracle:.3f} | {orr} | {r.best_policy} {r.best:.3f} "
                     f"({r.best_fwd_equiv:.0f} fwd-eq) | {r.confidence:.3f} | {r.gap:+.3f} | {r.oracle_vs_confidence} "
                     f"| {closed} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench ordering-gap", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output stem (default results/studies/ordering_gap)")
    a = ap.parse_args(argv)
    t = table()
    if t.empty:
        raise SystemExit("no oracle results yet: run the commands in docs/ordering_gap.md")
    out = Path(a.out or paths.studies_dir() / "ordering_gap")
    out.parent.mkdir(parents=True, exist_ok=True)
    t.to_csv(out.with_suffix(".csv"), index=False)
    md = markdown(t)
    out.with_suffix(".md").write_text(md + "\n\nPolicies compared per row: "
                                      + "; ".join(f"{r.task} @ {r.budget}: {r.policies_compared}"
                                                  for r in t.itertuples()) + ".\n")
    print(md)
    print(json.dumps({"wrote": [str(out.with_suffix('.csv')), str(out.with_suffix('.md'))]}))


if __name__ == "__main__":
    main()
