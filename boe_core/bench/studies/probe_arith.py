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

--commit-order decodes instead (d1 blocks, 2 tokens per step) and asks, for each problem the
first policy gets wrong at chain step s > 1, whether a policy committed a digit of step s's result
in the same decoding step as the last digit of step s-1's: the two were then predicted together,
step s from a previous result that was not written yet.

  python -m boe_core.bench probe-arith --model runs/reasoning/export assets/models/reasoning
  python -m boe_core.bench probe-arith --model reasoning --n 200 --out results/arith-cot/probe_val.json
  python -m boe_core.bench probe-arith --model reasoning --commit-order --split test --n 100 --policies confidence boe
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ... import generate, load_model
from ..tasks import d1_block_length
from ...tasks.arith_cot import _ANSWER, _STEP
from ...tasks.reasoning import batch, get_task

CONDITIONS = ("alone", "forward", "results")


def result_spans(answer: str) -> list[tuple[int, int]]:
    """Character spans of each step's result, in chain order."""
    return [m.span(4) for m in _STEP.finditer(answer)]


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
    start = ans.float().argmax(1).tolist()
    spans = [result_spans(e.answer) for e in exs]
    out = {}
    for cond in CONDITIONS:
        right, total, per_step = 0, 0, {}
        for step in range(max(map(len, spans))):
            rows = [k for k in range(len(exs)) if step < len(spans[k])]
            x = ids[rows].clone()
            targets = []
            for r, k in enumerate(rows):
                pos = [start[k] + i for i in masked_positions(exs[k].answer, step, cond, task.gen_length)]
                x[r, pos] = model.mask_id
                a, b = spans[k][step]
                targets.append([start[k] + i for i in range(a, b)])
            pred = model.logits(x, attention_mask=real[rows]).argmax(-1)
            ok = sum(bool((pred[r, t] == ids[k, t]).all()) for r, (k, t) in enumerate(zip(rows, targets)))
            per_step[step + 1] = round(ok / len(rows), 3)
            right, total = right + ok, total + len(rows)
        out[cond] = {"accuracy": round(right / total, 3), "results": total, "per_step": per_step}
    return out


def commit_steps(model, example, policy: str, tokens_per_step: int = 2) -> tuple[str, dict[int, int]]:
    """Decode one problem in d1 blocks; return (answer text, {answer position: decoding step})."""
    task = get_task("arith-cot")
    ids, real, ans = batch(model.tokenizer, task, [example], with_answer=False)
    a0 = int(ans[0].float().argmax())
    trace = generate(model, canvas=ids, attention_mask=real, policy=policy,
                     steps=task.gen_length // tokens_per_step, block_length=d1_block_length(task.gen_length))
    when = {int(p) - a0: rec.step for rec in trace.records for p in rec.chosen[0].nonzero()[0]}
    return task.decode_answer(model.tokenizer, trace.final_canvas[0][a0:a0 + task.gen_length]), when


def commit_order(model, policies, n: int = 100, split: str = "test") -> dict:
    """Per policy: problems wrong, and among the problems policies[0] gets wrong at a chain step
    s > 1, how many had a digit of step s's result committed in the same decoding step as the last
    digit of step s-1's."""
    task = get_task("arith-cot")
    out = {p: {"wrong": 0, "same_step_on_first_policy_failures": 0} for p in policies}
    n_fail = 0
    for ex in task.split(split, n):
        runs = {p: commit_steps(model, ex, p) for p in policies}
        for p, (text, _) in runs.items():
            out[p]["wrong"] += not task.check(ex, text).correct
        text = runs[policies[0]][0]
        spans = result_spans(ex.answer)
        bad = [k for k, (a, b) in enumerate(spans) if text[a:b] != ex.answer[a:b]]
        if task.check(ex, text).correct or not bad or bad[0] == 0:
            continue
        n_fail += 1
        (pa, pb), (a, b) = spans[bad[0] - 1], spans[bad[0]]
        for p, (_, when) in runs.items():
            last_prev = max(when[i] for i in range(pa, pb))
            out[p]["same_step_on_first_policy_failures"] += any(when[i] == last_prev for i in range(a, b))
    return {"problems": n, "first_policy_failures_after_step_1": n_fail, "policies": out}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench probe-arith", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=["reasoning"], help="shipped names or model folders")
    ap.add_argument("--n", type=int, default=200, help="problems (the first N of the split)")
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument("--commit-order", action="store_true", help="decode and report the commit order instead")
    ap.add_argument("--policies", nargs="+", default=["confidence", "boe"], help="--commit-order: the first is the one whose failures are examined")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {}
    for name in args.model:
        if args.commit_order:
            report[name] = commit_order(load_model(name), args.policies, args.n, args.split)
            print(f"{name}: {json.dumps(report[name])}")
            continue
        report[name] = probe(load_model(name), args.n, args.split)
        row = "  ".join(f"{c} {report[name][c]['accuracy']:.3f}" for c in CONDITIONS)
        print(f"{name}: results right ({report[name]['alone']['results']} per condition): {row}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "probe": report}, indent=1))
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
