"""Choose BoE-adaptive's shipped variant on the validation splits only.

Every variant (the veto rule, its fraction, the linearisation point, the base rule) runs beside its
base sampler on the val split of the four frontier tasks; the variant with the highest mean val
quality over the tasks (ties: the lower mean compute) becomes the policy's default and first preset.

  python -m boe_core.bench val-boe-adaptive --limit 50          # results/studies/boe_adaptive_val.{csv,md}
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ... import paths
from ..frontier import CAP, TASKS, family_of
from ..runner import Sweep, read_results, run_sweep
from ..specs import parse_specs
from ..tasks import make_task

BASES = ["threshold:tau=0.9", "threshold:tau=0.7", "eb:gamma_eb=0.01"]
VARIANTS = ["boe-adaptive:tau=0.9", "boe-adaptive:tau=0.7",
            "boe-adaptive:tau=0.9,veto=bottom,veto_frac=0.25", "boe-adaptive:tau=0.7,veto=bottom,veto_frac=0.25",
            "boe-adaptive:tau=0.9,veto=bottom,veto_frac=0.5",
            "boe-adaptive:tau=0.9,linearize_at=current",
            "boe-adaptive:base=eb,gamma_eb=0.01", "boe-adaptive:base=gain,gamma_eb=0.01"]


def markdown_rows(table: pd.DataFrame) -> list[str]:
    cols = list(table.columns)
    out = ["| policy | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, r in table.iterrows():
        out.append(f"| {name} | " + " | ".join(f"{v:.3f}" if v == v else "" for v in r.values) + " |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench val-boe-adaptive", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--out", default=str(paths.studies_dir() / "boe_adaptive_val.csv"))  # several tasks: a study
    a = ap.parse_args(argv)
    out = Path(a.out)
    for t in a.tasks:
        task = make_task(t)
        run_sweep(Sweep(task=task, model=task.default_model, specs=parse_specs(BASES + VARIANTS), budgets=[CAP[t]],
                        split="val", limit=a.limit, batch_size=50, out=out, threads=1, progress=False))
    df = read_results(out)
    df = df[(df["split"] == "val") & df["task"].isin(a.tasks)]
    wide = df.pivot_table(index="policy", columns="task", values="quality")
    cost = df.pivot_table(index="policy", columns="task", values="fwd_equiv")
    table = pd.DataFrame({"mean quality": wide.mean(axis=1), "mean fwd-eq": cost.mean(axis=1)})
    table = table.join(wide.round(3)).sort_values(["mean quality", "mean fwd-eq"], ascending=[False, True])
    boe = table[[p.startswith("boe") for p in table.index]]
    best = boe.index[0]
    md = ["# BoE-adaptive variants on val (chosen here, shipped as the default)", "",
          f"`python -m boe_core.bench val-boe-adaptive --limit {a.limit}`: val split, first {a.limit} problems per task, "
          "step cap = the number of masks.", "", *markdown_rows(table), "",
          f"Best BoE variant on val: `{best}` (family {family_of(best)[0]}, mean quality "
          f"{boe.loc[best, 'mean quality']:.3f} at {boe.loc[best, 'mean fwd-eq']:.1f} forward-equivalents)."]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
