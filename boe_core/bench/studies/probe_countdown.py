"""Why confidence order does not beat random order on countdown: it writes the operators together.

A countdown answer over numbers listed in the solution's order is `n1 o1 n2 o2 n3 (o3 n4)`: the
digits are copies of the prompt, and the operators are what the model must find. They depend on
each other (the target fixes their combination, not each one alone). This decodes val problems
(one block, 2 tokens per step by default) and reports, per policy:
  exact_match           as the bench scores it;
  operators_together    problems in which two operators were committed in the same step, i.e.
                        each picked from its own marginal without seeing the other;
  exact_match_together / exact_match_apart   exact match within those problems and the others.

  python -m boe_core.bench probe-countdown --model reasoning --n 100 --out results/countdown/commit_order_val.json
  python -m boe_core.bench probe-countdown --tokens-per-step 1 2 4 --policies confidence random boe
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ... import generate, load_model
from .. import make_task


def commit_report(model, policy: str, tokens_per_step: int, n: int, split: str, seed: int = 0) -> dict:
    task = make_task("countdown")
    examples = task.load(split, n)
    ids, am = task.canvas(model, examples)
    trace = generate(model, canvas=ids, attention_mask=am, policy=policy, steps=task.gen_length // tokens_per_step,
                     block_length=task.block_length, seed=seed)
    scores = task.score(model, examples, trace.final_canvas)
    when = torch.full(ids.shape, -1)
    for rec in trace.records:
        when[torch.as_tensor(rec.chosen)] = rec.step
    a0 = ids.shape[1] - task.gen_length  # left-padded: every answer canvas starts here
    together, right = [], []
    for b, s in enumerate(scores):
        ops = [int(when[b, a0 + j]) for j in range(1, len(examples[b]["reference"]), 2)]  # reference layout
        together.append(len(ops) != len(set(ops)))
        right.append(bool(s["exact_match"]))

    def rate(mask):
        sel = [r for r, m in zip(right, mask) if m]
        return round(sum(sel) / len(sel), 3) if sel else None

    return {"policy": policy, "tokens_per_step": tokens_per_step, "steps": task.gen_length // tokens_per_step,
            "problems": len(scores), "exact_match": round(sum(right) / len(right), 3),
            "operators_together": sum(together), "exact_match_together": rate(together),
            "exact_match_apart": rate([not t for t in together])}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench probe-countdown", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="reasoning", help="shipped name or model folder")
    ap.add_argument("--n", type=int, default=100, help="problems (the first N of the split)")
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--policies", nargs="+", default=["confidence", "random", "boe"])
    ap.add_argument("--tokens-per-step", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    rows = []
    for k in args.tokens_per_step:
        for p in args.policies:
            rows.append(commit_report(model, p, k, args.n, args.split))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
