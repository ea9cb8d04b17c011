"""The cascade metric: over runs that end wrong, where signals rank the first wrong commit among the
committed tokens at the steps after it (hit@1, hit@3, bootstrap intervals over runs, chance).

    python -m boe_core.bench cascade --task sudoku --split val --budget 12 --policy confidence --exact

Signals: BoE's remask TIS (its defaults; the estimate a BoE run records at no extra pass), the
exact drop of really remasking each committed token (`--exact`, one forward per committed token:
the quantity remask TIS estimates, so a miss there is the objective's, not the estimator's), and
the lowest confidence at commit first (what RCR and ReMDM-conf remask by). Tasks with a reference
canvas: sudoku.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..cascade import root_ranks, summarise
from ..errors import ConfigError
from ..sampler import generate
from ..paths import result_file


def targets(task, adapter, examples) -> np.ndarray:
    """(B, N) the reference canvas of each example (its solution)."""
    if task.name != "sudoku":
        raise ConfigError("task", task.name, "the cascade metric needs a task with a reference canvas: sudoku")
    from ..tasks.sudoku import puzzle_to_canvas

    return torch.stack([puzzle_to_canvas(e["solution"], adapter.tokenizer)[0] for e in examples]).numpy()


def run(adapter, task, split: str, limit: int | None, budget: int, policy: str, settings: dict,
        exact: bool, batch_size: int = 100) -> tuple[dict, int, int]:
    """(signal -> ranks, runs decoded, runs that end wrong)."""
    from .runner import task_base_config
    from .specs import parse_spec

    examples = task.load(split, limit)
    ranks: dict = {}
    wrong = 0
    for i in range(0, len(examples), batch_size):
        batch = examples[i:i + batch_size]
        ids, am = task.canvas(adapter, batch)
        cfg = parse_spec(policy).config(steps=budget, seed=0, base=task_base_config(task))
        trace = generate(adapter, canvas=ids, attention_mask=am, config=cfg)
        target = targets(task, adapter, batch)
        wrong += int((trace.final_canvas != target).any(1).sum())
        for name, rr in root_ranks(adapter, trace, target, settings, exact).items():
            for r in rr:
                r.row += i  # rows of the whole split, so that the bootstrap resamples runs
            ranks.setdefault(name, []).extend(rr)
    return ranks, len(examples), wrong


def markdown(summary: dict) -> str:
    def ci(s, k):
        return f"{s[f'hit@{k}']:.2f} [{s[f'hit@{k}_ci'][0]:.2f}, {s[f'hit@{k}_ci'][1]:.2f}]"

    lines = ["| signal | runs | states | hit@1 [95% CI] | chance | hit@3 [95% CI] | chance | hit@3 at the next step (chance) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        if not s.get("states"):
            lines.append(f"| {name} | 0 | 0 | | | | | |")
            continue
        lines.append(f"| {name} | {s['runs']} | {s['states']} | {ci(s, 1)} | {s['chance@1']:.2f} | {ci(s, 3)} "
                     f"| {s['chance@3']:.2f} | {s['next_hit@3']:.2f} ({s['next_chance@3']:.2f}) |")
    return "\n".join(lines)


def main(argv=None):
    from ..models import load_model
    from .tasks import make_task

    p = argparse.ArgumentParser(prog="python -m boe_core.bench cascade", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="sudoku", choices=["sudoku"])
    p.add_argument("--model", default=None)
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--budget", type=int, default=12, help="decoding steps of the runs")
    p.add_argument("--policy", default="confidence", help="policy spec of the runs")
    p.add_argument("--linearize-at", default=None, help="BoE linearisation of remask TIS (default: BoE's)")
    p.add_argument("--rho", type=float, default=None, help="BoE probe fraction (default: BoE's)")
    p.add_argument("--exact", action="store_true", help="also the exact remask drop (one forward per token)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="JSON output (default results/<task>/cascade_<split>.json)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    task = make_task(a.task)
    adapter = load_model(a.model or task.default_model)
    settings = {k: v for k, v in (("linearize_at", a.linearize_at), ("rho", a.rho)) if v is not None}
    t0 = time.time()
    ranks, n, wrong = run(adapter, task, a.split, a.limit, a.budget, a.policy, settings, a.exact, a.batch_size)
    summary = {name: summarise(rr) for name, rr in ranks.items()}
    out = Path(a.out or result_file(a.task, "cascade", a.split, ext="json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"task": a.task, "split": a.split, "model": adapter.name, "budget": a.budget,
                               "policy": a.policy, "settings": settings, "runs": n, "wrong_runs": wrong,
                               "seconds": round(time.time() - t0, 1), "summary": summary}, indent=1))
    print(f"{a.policy} at {a.budget} steps: {wrong} of {n} runs end wrong\n")
    print(markdown(summary))
    print(f"\n{time.time() - t0:.0f} s; written {out}")


if __name__ == "__main__":
    main()
