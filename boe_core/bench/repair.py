"""Root repair against the decoders it competes with, on the same problems (issue #27 part 4).

    python -m boe_core.bench repair --task sudoku --split hard_val --n 200 --steps 24 \\
        --variants finder=grad-likelihood,accept=pll finder=lowest-confidence,accept=pll,rounds=3 \\
        --compare threshold rcr confidence@54

The first N problems of the split are decoded by the base policy (`--base`, `--steps` steps, seed
0); every run, right or wrong (no checker is read), is then repaired by each variant
(`boe_core.repair.root_repair`, a variant is `key=value,...` of `RepairSettings`). The `--compare`
decoders (policy specs; `spec@S` runs at S steps) decode the same problems. Reported per decoder:
solve rate with a 95% Wilson interval, forward-equivalents per problem (forwards + kappa x
backwards per sequence, the base run included; kappa measured on this machine by
`bench.cost.backward_cost_probe`, or `--kappa`) and paired counts with exact McNemar p against
each reference decoder. Per-problem results are cached under the runs folder, so a stopped run
resumes; tables go to results/<task>/repair_<split>.{md,json,csv}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from ..errors import ConfigError
from ..paths import results_dir, runs_dir
from ..repair import RepairSettings, root_repair
from ..sampler import generate
from .cost import backward_cost_probe, row_costs
from .paired import paired_counts
from .runner import task_base_config, wilson
from .specs import parse_spec, parse_value


def parse_variant(text: str) -> RepairSettings:
    """'finder=lowest-confidence,rounds=3' -> RepairSettings (validated)."""
    values = {}
    for part in filter(None, text.split(",")):
        if "=" not in part:
            raise ConfigError("variant", text, "must be key=value pairs separated by commas")
        k, v = part.split("=", 1)
        if k not in RepairSettings.__dataclass_fields__:
            raise ConfigError("variant", k, f"is not a repair setting: {sorted(RepairSettings.__dataclass_fields__)}")
        values[k] = parse_value(v)
    return RepairSettings(**values).validate()


def parse_decoder(text: str, steps: int) -> tuple[str, int]:
    """'rcr' -> ('rcr', steps); 'confidence@54' -> ('confidence', 54)."""
    spec, _, s = text.partition("@")
    parse_spec(spec)  # validated before any model is loaded
    return spec, int(s) if s else steps


def _decode(adapter, task, batch, spec: str, steps: int):
    ids, am = task.canvas(adapter, batch)
    cfg = parse_spec(spec).config(steps=steps, seed=0, base=task_base_config(task))
    t0 = time.perf_counter()
    trace = generate(adapter, canvas=ids, attention_mask=am, config=cfg)
    secs = (time.perf_counter() - t0) / len(batch)
    ok = [bool(s[task.metric] >= 1) for s in task.score(adapter, batch, trace.final_canvas)]
    fw, bw = row_costs(trace)
    return trace, ok, fw, bw, secs


def collect(adapter, task, split, n, base, steps, variants: dict, compare: dict, batch_size, cache: Path,
            deadline) -> tuple[list[dict], bool]:
    """One record per (problem, decoder): solved, forwards, backwards, seconds (cached)."""
    examples = task.load(split, n)
    decoders = {f"{base}@{steps}": None, **{k: None for k in compare}, **{k: None for k in variants}}
    out = []
    for i in range(0, len(examples), batch_size):
        batch = examples[i:i + batch_size]
        files = {d: [cache / d.replace("/", "_") / f"{i + j}.json" for j in range(len(batch))] for d in decoders}
        if all(f.is_file() for fs in files.values() for f in fs):
            out += [json.loads(f.read_text()) for fs in files.values() for f in fs]
            continue
        if time.time() > deadline:
            return out, False
        for d, fs in files.items():
            fs[0].parent.mkdir(parents=True, exist_ok=True)
        for d, (spec, s) in compare.items():
            if all(f.is_file() for f in files[d]):
                continue
            _, ok, fw, bw, secs = _decode(adapter, task, batch, spec, s)
            for j in range(len(batch)):
                files[d][j].write_text(json.dumps({"idx": i + j, "decoder": d, "solved": ok[j], "forwards": fw[j],
                                                   "backwards": bw[j], "seconds": secs}))
        trace, ok, fw, bw, secs = _decode(adapter, task, batch, base, steps)
        for j in range(len(batch)):
            files[f"{base}@{steps}"][j].write_text(json.dumps(
                {"idx": i + j, "decoder": f"{base}@{steps}", "solved": ok[j], "forwards": fw[j],
                 "backwards": bw[j], "seconds": secs}))
        for d, settings in variants.items():
            for j, e in enumerate(batch):
                if files[d][j].is_file():
                    continue
                rep = root_repair(adapter, trace, j, settings)
                solved = bool(task.score(adapter, [e], rep.final[None])[0][task.metric] >= 1)
                files[d][j].write_text(json.dumps({
                    "idx": i + j, "decoder": d, "solved": solved, "base_solved": ok[j],
                    "forwards": fw[j] + rep.forwards, "backwards": bw[j] + rep.backwards,
                    "seconds": secs + rep.seconds, "changed": rep.changed,
                    "accepted": sum(r.accepted for r in rep.rounds), "rounds": len(rep.rounds)}))
        out += [json.loads(f.read_text()) for fs in files.values() for f in fs]
    return out, True


def summarise(df: pd.DataFrame, kappa: float, references: list[str]) -> pd.DataFrame:
    rows = []
    for d, g in df.groupby("decoder", sort=False):
        g = g.set_index("idx")
        k, n = int(g["solved"].sum()), len(g)
        lo, hi = wilson(k, n)
        row = {"decoder": d, "n": n, "solved": k, "rate": k / n, "lo": lo, "hi": hi,
               "fwd_equiv": float((g["forwards"] + kappa * g["backwards"]).mean()),
               "forwards": float(g["forwards"].mean()), "backwards": float(g["backwards"].mean()),
               "s_per_problem": float(g["seconds"].mean())}
        if "accepted" in g and g["accepted"].notna().any():
            row["changed"] = float(g["changed"].astype(float).mean())
            row["broke"] = int((g["base_solved"].astype(bool) & ~g["solved"].astype(bool)).sum())
            row["fixed"] = int((~g["base_solved"].astype(bool) & g["solved"].astype(bool)).sum())
        for ref in references:
            r = df[df["decoder"] == ref].set_index("idx")
            common = g.index.intersection(r.index)
            if d == ref or len(common) == 0:
                continue
            pc = paired_counts(g.loc[common, "solved"].astype(int), r.loc[common, "solved"].astype(int))
            row[f"vs {ref}"] = f"+{pc['only_a']} / −{pc['only_b']} (p={pc['mcnemar_p']:.2g})"
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(summary: pd.DataFrame, references: list[str]) -> str:
    head = ["decoder", "solved [95% CI]", "fwd-equiv / problem", "s / problem", "fixed / broke",
            *[f"vs {r}" for r in references]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in summary.iterrows():
        fb = f"{int(r['fixed'])} / {int(r['broke'])}" if "fixed" in r and r["fixed"] == r["fixed"] else "—"
        vs = [r.get(f"vs {ref}") if isinstance(r.get(f"vs {ref}"), str) else "—" for ref in references]
        lines.append(f"| {r['decoder']} | {r['rate']:.3f} [{r['lo']:.2f}, {r['hi']:.2f}] | {r['fwd_equiv']:.1f} | "
                     f"{r['s_per_problem']:.3f} | {fb} | " + " | ".join(vs) + " |")
    return "\n".join(lines)


def main(argv=None):
    from ..models import load_model
    from .tasks import make_task

    p = argparse.ArgumentParser(prog="python -m boe_core.bench repair", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="sudoku")
    p.add_argument("--model", default=None)
    p.add_argument("--split", default="val")
    p.add_argument("--n", type=int, default=100, help="first N problems of the split")
    p.add_argument("--steps", type=int, default=24)
    p.add_argument("--base", default="confidence", help="the policy whose runs are repaired")
    p.add_argument("--variants", nargs="+", default=["finder=grad-likelihood,accept=pll"])
    p.add_argument("--compare", nargs="*", default=["threshold", "rcr"], help="policy specs, spec@steps")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--kappa", type=float, default=None, help="a backward in forwards (default: measured)")
    p.add_argument("--max-seconds", type=float, default=540, help="stop starting new batches after this")
    p.add_argument("--tag", default="", help="suffix of the output files")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    variants = {f"repair[{v}]": parse_variant(v) for v in a.variants}
    compare = {(c if "@" in c else f"{c}@{a.steps}"): parse_decoder(c, a.steps) for c in a.compare}
    task = make_task(a.task)
    adapter = load_model(a.model or task.default_model)
    cache = runs_dir() / "repair" / f"{a.task}_{a.split}_{a.base.replace(':', '-')}_{a.steps}"
    recs, complete = collect(adapter, task, a.split, a.n, a.base, a.steps, variants, compare, a.batch_size, cache,
                             time.time() + a.max_seconds)
    kappa, kappa_note = a.kappa, ""
    if kappa is None:
        ids, am = task.canvas(adapter, task.load(a.split, 16))
        try:
            kappa = backward_cost_probe(adapter, ids, am, steps=a.steps)["kappa"]  # at the runs' own budget
        except ConfigError:
            if any(r.get("backwards", 0) for r in recs):
                raise
            kappa, kappa_note = 0.0, " (not measured: no decoder here runs a backward)"
    df = pd.DataFrame(recs)
    refs = [f"{a.base}@{a.steps}", *[c for c in compare if c.split("@")[0] in ("threshold", "rcr")]]
    summary = summarise(df, kappa, refs)
    out = results_dir(a.task) / f"repair_{a.split}{a.tag}"
    out.parent.mkdir(parents=True, exist_ok=True)
    md = markdown(summary, refs)
    out.with_suffix(".md").write_text(
        f"{a.task} {a.split}, first {a.n} problems, base {a.base} at {a.steps} steps, kappa {kappa:.3f}{kappa_note}"
        f"{'' if complete else ' (INCOMPLETE: rerun the same command to resume)'}\n\n{md}\n")
    out.with_suffix(".json").write_text(json.dumps({"task": a.task, "split": a.split, "n": a.n, "steps": a.steps,
                                                    "base": a.base, "kappa": kappa, "complete": complete,
                                                    "summary": summary.to_dict("records")}, indent=1))
    df.to_csv(out.with_suffix(".csv"), index=False)
    print(md)
    print(("complete" if complete else "INCOMPLETE (time budget): run the same command again to resume")
          + f"; written {out.with_suffix('.md')}, .json, .csv")


if __name__ == "__main__":
    main()
