#!/usr/bin/env python
"""Has the model learned to add? One forward pass per condition over arith-cot val problems,
teacher-forced: the reference answer fills the canvas, some positions are masked, and a chain
step counts as right when the argmax at both digits of its result is the reference.

Conditions (which answer positions are masked):
  alone    the step's result only; the rest of the chain, later steps included, stays visible
  forward  the step's result and everything after it: the state left-to-right decoding reaches,
           where the result can only be computed from what comes before
  results  every result and the final answer; the operators and amounts stay visible

Exact match needs every step right, so these accuracies bound it from above; a model that only
estimates magnitudes is off by one or two in most results.

  python scripts/probe_arith.py --model runs/reasoning/export assets/models/reasoning
  python scripts/probe_arith.py --model reasoning --n 200 --out results/arith_probe.json
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import torch

from boe_core import load_model
from boe_core.tasks.reasoning import batch, get_task

CONDITIONS = ("alone", "forward", "results")
_RESULT = re.compile(r"=(\d\d)\.")
_ANSWER = re.compile(r"Answer: (\d+)")


def result_spans(answer: str) -> list[tuple[int, int]]:
    """Character spans of each step's two-digit result, in chain order."""
    return [m.span(1) for m in _RESULT.finditer(answer)]


def masked_positions(answer: str, step: int, condition: str, gen_length: int) -> list[int]:
    spans = result_spans(answer)
    a, b = spans[step]
    if condition == "alone":
        return list(range(a, b))
    if condition == "forward":
        return list(range(a, gen_length))
    if condition == "results":
        m = _ANSWER.search(answer)
        out = [i for s, e in spans for i in range(s, e)]
        return out + (list(range(*m.span(1))) if m else [])
    raise ValueError(f"condition={condition!r}: must be one of {CONDITIONS}")


@torch.no_grad()
def probe(model, n: int = 200, split: str = "val") -> dict:
    task = get_task("arith-cot")
    tok = model.tokenizer if hasattr(model, "tokenizer") else model
    exs = task.split(split, n)
    ids, real, ans = batch(tok, task, exs, with_answer=True)
    start = ans.float().argmax(1)
    out = {}
    for cond in CONDITIONS:
        right, total, per_step = 0, 0, {}
        max_steps = max(len(result_spans(e.answer)) for e in exs)
        for step in range(max_steps):
            rows = [k for k, e in enumerate(exs) if step < len(result_spans(e.answer))]
            x = ids[rows].clone()
            targets = []
            for r, k in enumerate(rows):
                pos = [int(start[k]) + i for i in masked_positions(exs[k].answer, step, cond, task.gen_length)]
                x[r, pos] = model.mask_id
                a, b = result_spans(exs[k].answer)[step]
                targets.append([int(start[k]) + i for i in range(a, b)])
            pred = model.logits(x, attention_mask=real[rows]).argmax(-1)
            ok = sum(bool((pred[r, t] == ids[k, t]).all()) for r, (k, t) in enumerate(zip(rows, targets)))
            per_step[step + 1] = round(ok / len(rows), 3)
            right, total = right + ok, total + len(rows)
        out[cond] = {"accuracy": round(right / total, 3), "results": total, "per_step": per_step}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=["reasoning"], help="shipped names or model folders")
    ap.add_argument("--n", type=int, default=200, help="val problems")
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {}
    for name in args.model:
        report[name] = probe(load_model(name), args.n, args.split)
        row = "  ".join(f"{c} {report[name][c]['accuracy']:.3f}" for c in CONDITIONS)
        print(f"{name}: results right ({report[name]['alone']['results']} per condition): {row}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "probe": report}, indent=1))
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
