"""Fidelity of BoE's estimate as a metric: how well TIS ranks candidates by their exact one-step
entropy drop, per linearisation point, over many decoding states.

    python -m boe_core.bench fidelity --task sudoku --split val --limit 50 --budget 24

States come from two trajectories per example: the confidence sampler's and the evaluated BoE
policy's own (``--trajectory-policy``). At every ``--every``-th step of each, the BoE candidates
(top-r by confidence) and probes are formed once; the exact drop Δ_i (one forward per candidate,
lookahead's estimate) is the truth, and every linearisation point's TIS is computed on the same
candidates and probes. Per state: Spearman(TIS, Δ), top-1 agreement (argmax TIS = argmax Δ) and
sign agreement (share of candidates where sign TIS = sign Δ). Summaries carry 95% bootstrap
intervals over states. This separates the estimator's error (TIS vs Δ) from the objective's
(whether a large Δ makes a good commit), which the quality sweeps measure.

``--target remask`` measures BoE's remask TIS the same way: at the committed tokens of each state,
against the exact drop of really remasking each one (one forward per committed token).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..fidelity import VARIANTS, measure_remask_trace, measure_trace  # the per-state measurement lives in the core
from ..paths import result_file
from ..sampler import generate


def bootstrap(values: np.ndarray, stat, n: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(statistic, 2.5%, 97.5%) over `n` resamples of the states."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, values.size, size=(n, values.size))
    boots = stat(values[idx], axis=1)
    return float(stat(values)), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def summarise(rows: list[dict]) -> list[dict]:
    import pandas as pd

    df = pd.DataFrame(rows)
    out = []
    for (source, name), g in df.groupby(["source", "variant"], sort=False):
        s = bootstrap(g["spearman"].to_numpy(), np.median)
        sm = bootstrap(g["spearman"].to_numpy(), np.mean)
        t = bootstrap(g["top1"].to_numpy(), np.mean)
        sg = bootstrap(g["sign"].to_numpy(), np.mean)
        out.append({"states": source, "variant": name, "n_states": int(len(g)),
                    "median_spearman": s[0], "median_spearman_ci": [s[1], s[2]],
                    "mean_spearman": sm[0], "mean_spearman_ci": [sm[1], sm[2]],
                    "top1": t[0], "top1_ci": [t[1], t[2]], "sign": sg[0], "sign_ci": [sg[1], sg[2]],
                    "chance_top1": float((1.0 / g["n_candidates"]).mean())})
    return out


def markdown(summary: list[dict]) -> str:
    def ci(v, c):
        return f"{v:.2f} [{c[0]:.2f}, {c[1]:.2f}]"

    lines = ["| states | linearisation point | n | median Spearman [95% CI] | mean Spearman | top-1 agreement | sign agreement |",
             "|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['states']} | {s['variant']} | {s['n_states']} | {ci(s['median_spearman'], s['median_spearman_ci'])} "
                     f"| {ci(s['mean_spearman'], s['mean_spearman_ci'])} | {ci(s['top1'], s['top1_ci'])} "
                     f"(chance {s['chance_top1']:.2f}) | {ci(s['sign'], s['sign_ci'])} |")
    return "\n".join(lines)


def run(adapter, task, split: str, limit: int | None, budget: int, trajectory_policies: list[str],
        settings: dict, variants: dict, every: int = 1, batch_size: int = 50, progress=True,
        target: str = "tis") -> list[dict]:
    from tqdm import tqdm

    from .specs import parse_spec
    from .runner import task_base_config

    examples = task.load(split, limit)
    rows = []
    jobs = [(spec, examples[i:i + batch_size]) for spec in trajectory_policies
            for i in range(0, len(examples), batch_size)]
    for spec_str, batch in tqdm(jobs, desc="fidelity", disable=not progress):
        spec = parse_spec(spec_str)
        ids, am = task.canvas(adapter, batch)
        cfg = spec.config(steps=budget, seed=0, base=task_base_config(task))
        trace = generate(adapter, canvas=ids, attention_mask=am, config=cfg)
        measure = measure_remask_trace if target == "remask" else measure_trace
        rows += measure(adapter, trace, settings, variants, every, source=f"{spec_str} trajectory")
    return rows


def main(argv=None):
    from ..models import load_model
    from .tasks import TASKS, make_task

    p = argparse.ArgumentParser(prog="python -m boe_core.bench fidelity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--model", default=None)
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--limit", type=int, default=50, help="examples (each gives one state per --every steps)")
    p.add_argument("--budget", type=int, default=24, help="decoding steps of the trajectories")
    p.add_argument("--every", type=int, default=1, help="measure every k-th step")
    p.add_argument("--trajectory-policy", nargs="+", default=["confidence", "boe"],
                   help="policy specs whose trajectories give the states")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--r", type=int, default=None, help="candidates per state (default: BoE's)")
    p.add_argument("--target", default="tis", choices=["tis", "remask"],
                   help="tis: TIS at the candidates; remask: remask TIS at the committed tokens")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="JSON output (default results/<task>/fidelity[_remask]_<split>.json)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    task = make_task(a.task)
    adapter = load_model(a.model or task.default_model)
    settings = {} if a.r is None else {"r": a.r}
    t0 = time.time()
    rows = run(adapter, task, a.split, a.limit, a.budget, a.trajectory_policy, settings,
               {k: VARIANTS[k] for k in a.variants}, a.every, a.batch_size, target=a.target)
    summary = summarise(rows)
    kind = "fidelity_remask" if a.target == "remask" else "fidelity"
    out = Path(a.out or result_file(a.task, kind, a.split, ext="json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"task": a.task, "target": a.target, "split": a.split, "model": adapter.name,
                               "limit": a.limit,
                               "budget": a.budget, "every": a.every, "trajectories": a.trajectory_policy,
                               "seconds": round(time.time() - t0, 1), "summary": summary}, indent=1))
    print(markdown(summary))
    print(f"\n{len(rows) // max(len(a.variants), 1)} states; {time.time() - t0:.0f} s; written {out}")


if __name__ == "__main__":
    main()
