"""`python -m boe_core.bench table`: per-task exact match of the reasoning tasks (countdown, sudoku4, sudoku6, arith-cot) for every policy at
two step budgets: gen_length/2 and gen_length/4 steps (2 and 4 tokens per step).

Decoding and scoring are the benchmark harness's (`boe_core.bench`: `boe_core.generate`, the
task's checker, d1 blocks of <= 32 or --blocks one): one resumable sweep per task, written to
results/<task>/reasoning_<split>[_<tag>].csv (+ _examples.parquet), then one summary,
reasoning_eval_<split>[_oneblock][_<tag>].csv / .json (in results/<task>/ when the run has one task,
else in results/studies/) and markdown: one table of every task @ tokens per step,
and per task a table with 95% Wilson intervals and each row paired with the reference policy
(confidence) on the same problems: how many only the row solves, how many only the reference
solves, and the exact McNemar p-value (at the same step budget, and against the reference's
--also cell at 1 token per step when there is one).

  python -m boe_core.bench table                                   # test split, 200 per task
  python -m boe_core.bench table --split val --limit 20 --policies confidence random
  python -m boe_core.bench table --model runs/reasoning/export --tasks arith-cot
  python -m boe_core.bench table --n 500 --also confidence@1                 # + the compute-equal row
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

from ..errors import ConfigError
from .paired import paired_with_reference
from .runner import Sweep, examples_path, read_results, run_sweep
from .specs import parse_specs
from ..tasks.reasoning import task_names as reasoning_task_names
from .tasks import make_task
from ..paths import STUDIES, results_dir
POLICIES = ["random", "confidence", "margin", "entropy", "lookahead:r=4", "boe"]
TOKENS_PER_STEP = (2, 4)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench table", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None,
                    help="shipped name or model folder for every task (default: each task's own shipped model: "
                         "reasoning, or sudoku6 for sudoku6)")
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--n", "--limit", dest="n", type=int, default=200, help="examples per task (first N of the split)")
    ap.add_argument("--tasks", nargs="+", default=list(reasoning_task_names()),
                    choices=list(reasoning_task_names()))
    ap.add_argument("--policies", nargs="+", default=POLICIES, help="policy specs (as in boe_core.bench)")
    ap.add_argument("--tokens-per-step", type=int, nargs="+", default=list(TOKENS_PER_STEP),
                    help="step budgets as gen_length / k")
    ap.add_argument("--also", nargs="*", default=[], metavar="SPEC@K",
                    help="extra cells outside the grid: a policy spec at K tokens per step (confidence@1)")
    ap.add_argument("--reference", default="confidence", help="the policy every row is paired with")
    ap.add_argument("--cached", action="store_true",
                    help="run nothing: summarize the cells already in the per-task CSVs and list the missing ones")
    ap.add_argument("--blocks", default="d1", choices=["d1", "one"],
                    help="d1: semi-autoregressive blocks of <= 32 (sudoku6: 2 x 24, arith-cot: 2 x 28); one: the whole answer is one block")
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backward-cost", type=float, default=None, help="kappa for fwd_equiv (default: measure once)")
    ap.add_argument("--out-dir", default=None,
                    help="the results folder (default: the configured one); each task's CSV goes to its own folder")
    ap.add_argument("--tag", default="", help="suffix of the output names (e.g. an interim checkpoint)")
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def read_results_for(out: Path, keys: list[str]) -> pd.DataFrame:
    df = read_results(out)
    return df[df["key"].isin(keys)]


def budgets(gen_length: int, tokens_per_step) -> list[int]:
    for k in tokens_per_step:
        if k < 1 or gen_length % k:
            raise ConfigError("tokens_per_step", k, f"must divide the answer length {gen_length}")
    return [gen_length // k for k in tokens_per_step]


def parse_also(items) -> list[tuple[str, int]]:
    """'confidence@1' -> ('confidence', 1): a policy spec and a number of tokens per step."""
    out = []
    for item in items:
        spec, sep, k = str(item).rpartition("@")
        if not sep or not spec or not k.isdigit():
            raise ConfigError("also", item, "must be SPEC@K, e.g. confidence@1 (K tokens per step)")
        out.append((spec, int(k)))
    return out


def summarize(df: pd.DataFrame, gen_length: int) -> pd.DataFrame:
    out = df[["task", "policy", "steps", "n", "quality", "quality_lo", "quality_hi", "forwards", "backwards",
              "fwd_equiv", "wall_s_per_example", "machine", "model", "split", "key"]].copy()
    out.insert(3, "tokens_per_step", gen_length / out["steps"])
    return out.rename(columns={"quality": "exact_match", "quality_lo": "em_lo", "quality_hi": "em_hi"})


PAIR_COLUMNS = ("only_policy", "only_ref", "mcnemar_p", "only_policy_vs_ref1", "only_ref1", "mcnemar_p_vs_ref1")


def add_paired(summary: pd.DataFrame, examples: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Pair each row of one task with the reference policy on the same problems: at the same
    step budget, and against the reference at 1 token per step when that cell is in the summary."""
    out = summary.copy()
    for c in PAIR_COLUMNS:
        out[c] = float("nan")
    ref = out[out["policy"] == reference].set_index("tokens_per_step")["key"]
    for i, r in out.iterrows():
        for k, cols in ((r["tokens_per_step"], PAIR_COLUMNS[:3]), (1.0, PAIR_COLUMNS[3:])):
            if k not in ref.index or ref[k] == r["key"]:
                continue
            c = paired_with_reference(examples, r["key"], ref[k])
            out.loc[i, list(cols)] = [c["only_a"], c["only_b"], c["mcnemar_p"]]
    return out


def _p(p: float) -> str:
    return "" if pd.isna(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _pair(only_policy, only_ref, p) -> str:
    return "" if pd.isna(only_policy) else f"+{int(only_policy)} / -{int(only_ref)} (p={_p(p)})"


def paired_markdown(summary: pd.DataFrame, policies: list[str], reference: str) -> str:
    """Per task: every row with its interval, cost and paired counts against the reference."""
    parts = []
    for t in dict.fromkeys(summary["task"]):
        d = summary[summary["task"] == t].copy()
        d["order"] = d["policy"].map({p: i for i, p in enumerate(policies)}).fillna(len(policies))
        d = d.sort_values(["tokens_per_step", "order"])
        has1 = d["only_policy_vs_ref1"].notna().any()
        lines = [f"**{t}** ({int(d['n'].max())} {d['split'].iloc[0]} problems; +a / -b: problems only this row "
                 f"solves / only {reference} at the same tokens per step solves, exact McNemar p"
                 + (f"; last column: the same against {reference} at 1 token per step" if has1 else "") + ")", "",
                 "| policy | tokens/step | exact match [95% CI] | fwd-equiv | vs " + reference + " |"
                 + (f" vs {reference} @1/step |" if has1 else ""),
                 "|---|---|---|---|---|" + ("---|" if has1 else "")]
        for _, r in d.iterrows():
            cells = [r["policy"], f"{r['tokens_per_step']:g}",
                     f"{r['exact_match']:.3f} [{r['em_lo']:.2f}, {r['em_hi']:.2f}]", f"{r['fwd_equiv']:.1f}",
                     _pair(r["only_policy"], r["only_ref"], r["mcnemar_p"])]
            if has1:
                cells.append(_pair(r["only_policy_vs_ref1"], r["only_ref1"], r["mcnemar_p_vs_ref1"]))
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def markdown(summary: pd.DataFrame, policies: list[str], tokens_per_step=None) -> str:
    """Exact match, rows: policies; columns: task @ tokens per step (all of the summary's, or these)."""
    if tokens_per_step is not None:
        summary = summary[summary["tokens_per_step"].isin([float(k) for k in tokens_per_step])]
    cols = [(t, int(k)) for t in dict.fromkeys(summary["task"]) for k in sorted(set(summary["tokens_per_step"]))]
    head = "| policy | " + " | ".join(f"{t} ({k}/step)" for t, k in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for p in policies:
        cells = []
        for t, k in cols:
            r = summary[(summary["policy"] == p) & (summary["task"] == t) & (summary["tokens_per_step"] == k)]
            cells.append(f"{r['exact_match'].iloc[0]:.3f}" if len(r) else "")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    n = ", ".join(f"{t}: {int(summary.loc[summary['task'] == t, 'n'].max())}" for t in dict.fromkeys(summary["task"]))
    models = ", ".join(f"{t}: {m}" for t, m in dict.fromkeys(zip(summary["task"], summary["model"])))
    lines.append(f"\nExact match on the {summary['split'].iloc[0]} split ({n} examples), models "
                 f"{models}; steps = gen_length / (tokens per step).")
    return "\n".join(lines)


def main(argv=None) -> int:
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        specs = parse_specs(a.policies)
        also = [(parse_specs([spec])[0], k) for spec, k in parse_also(a.also)]
        out_dir = Path(a.out_dir or results_dir())
        tag = "_" + a.tag.lstrip("_") if a.tag.lstrip("_") else ""  # --tag _x and --tag x name the same files
        frames, missing = [], []
        for name in a.tasks:
            task = make_task(name)
            if a.blocks == "one":
                task = make_task(name, block_length=task.gen_length)
            out = out_dir / name / f"reasoning_{a.split}{tag}.csv"  # cells keyed by block length too
            model = a.model or task.rtask.model
            keys = []
            # the grid, then each extra cell: separate sweeps into the same CSV (cells are keyed)
            for cell_specs, ks in [(specs, a.tokens_per_step)] + [([sp], [k]) for sp, k in also]:
                b = budgets(task.gen_length, ks)
                if a.cached:
                    df = read_results(out)
                else:
                    sw = Sweep(task=task, model=model, specs=cell_specs, budgets=b, split=a.split, limit=a.n,
                               batch_size=a.batch_size, seed=a.seed, out=out, device=a.device, threads=a.threads,
                               progress=not a.quiet, backward_cost=a.backward_cost)
                    df = run_sweep(sw)
                # this run's cells only: the CSV may also hold other models, sizes or block lengths
                opts = json.dumps(task.options(), sort_keys=True)
                df = df[df["policy"].isin([s.label for s in cell_specs]) & df["steps"].isin(b) & (df["n"] == a.n)
                        & (df["model"] == model) & (df["task_options"] == opts)]
                keys += list(df["key"])
                have = set(zip(df["policy"], df["steps"]))
                missing += [f"{name} {s.label} @{task.gen_length // st}/step" for s in cell_specs for st in b
                            if (s.label, st) not in have]
            df = read_results_for(out, keys)
            examples = pd.read_parquet(examples_path(out), columns=["key", "id", "exact_match"])
            frames.append(add_paired(summarize(df, task.gen_length), examples[examples["key"].isin(keys)],
                                     a.reference))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = pd.concat(frames, ignore_index=True)
    where = out_dir / (a.tasks[0] if len(a.tasks) == 1 else STUDIES)  # over several tasks: a study
    stem = where / f"reasoning_eval_{a.split}{'' if a.blocks == 'd1' else '_oneblock'}{tag}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(stem.with_suffix(".csv"), index=False)
    labels = [s.label for s in specs] + [sp.label for sp, _ in also if sp.label not in {s.label for s in specs}]
    table = markdown(summary, [s.label for s in specs], a.tokens_per_step) + "\n\n" + paired_markdown(
        summary, labels, a.reference)
    if missing:
        table += "\n\nNot run: " + ", ".join(missing) + "."
    stem.with_suffix(".json").write_text(json.dumps({"args": vars(a), "rows": summary.to_dict("records"),
                                                     "missing": missing, "markdown": table}, indent=1,
                                                    default=str) + "\n")
    print(table)
    print("\nseconds per example (this machine):")
    print(summary.pivot_table(index="policy", columns=["task", "tokens_per_step"], values="wall_s_per_example")
          .round(3).to_string())
    print(f"\nwrote {stem.with_suffix('.csv')} and {stem.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
