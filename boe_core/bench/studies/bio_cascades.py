"""How the `bio` failures break down: for each policy and step budget of a `bench table` run,
the failures that contain a cascade (a wrong fact that follows from an earlier wrong one), those
with roots only, and those with only other wrong text (names not in the world, broken template).

Reads the per-example outputs that `python -m boe_core.bench table` wrote and re-runs the bio checker on
each decoded answer (the split is regenerated from its seed, so the example ids are enough).

    python -m boe_core.bench bio-cascades results/bio/reasoning_test_examples.parquet --split test
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from ... import paths
from ...tasks.reasoning import get_task

FACTS = ("born", "country", "job", "employer", "city", "work_country")


def breakdown(df: pd.DataFrame, split: str) -> list[dict]:
    task = get_task("bio")
    examples = {i: task.example(split, i) for i in sorted(set(df["id"].astype(int)))}
    gen = task.gen_length
    rows = []
    for (policy, steps), d in df.groupby(["policy", "steps"], sort=False):
        fail = cascade = roots_only = other_only = 0
        root_facts, cascade_facts = Counter(), Counter()
        for _, r in d.iterrows():
            ex = examples[int(r["id"])]
            chk = task.check(ex, r["output"] if isinstance(r["output"], str) else "")
            if chk.correct:
                continue
            fail += 1
            kinds = set(chk.kinds or [])
            parts = [p.split(":", 1) for p in chk.reason.split("; ") if ":" in p]
            for kind, rest in parts:
                fact = rest.split()[0] if rest.split() else ""
                if kind == "root" and fact in FACTS:
                    root_facts[fact] += 1
                if kind == "cascade" and fact in FACTS:
                    cascade_facts[fact] += 1
            if "cascade" in kinds:
                cascade += 1
            elif "root" in kinds:
                roots_only += 1
            else:
                other_only += 1
        n = len(d)
        rows.append({"policy": policy, "steps": int(steps), "tokens_per_step": gen / int(steps), "n": n,
                     "exact_match": round(1 - fail / n, 3), "failures": fail,
                     "with_cascade": cascade, "roots_only": roots_only, "other_wrong_only": other_only,
                     "cascade_share_of_failures": round(cascade / fail, 3) if fail else None,
                     "root_facts": dict(root_facts), "cascade_facts": dict(cascade_facts)})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| policy | tokens/step | n | exact match | failures | with a cascade | roots only | other wrong only | cascade share |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        share = "" if r["cascade_share_of_failures"] is None else f"{r['cascade_share_of_failures']:.2f}"
        lines.append(f"| {r['policy']} | {r['tokens_per_step']:g} | {r['n']} | {r['exact_match']:.3f} | {r['failures']} | "
                     f"{r['with_cascade']} | {r['roots_only']} | {r['other_wrong_only']} | {share} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench bio-cascades", description=__doc__.split("\n")[0])
    ap.add_argument("examples", nargs="+", help="bench table's *_examples.parquet of the bio task")
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--out", default=None, help="JSON output (default: results/bio/cascades_<split>.json)")
    a = ap.parse_args(argv)
    df = pd.concat([pd.read_parquet(p) for p in a.examples], ignore_index=True)
    rows = breakdown(df, a.split)
    out = Path(a.out) if a.out else paths.result_file("bio", "cascades", a.split, ext="json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"split": a.split, "sources": [str(p) for p in a.examples], "rows": rows}, indent=1) + "\n")
    print(markdown(rows))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
