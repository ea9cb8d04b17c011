"""Root finders against the measured root of runs that end wrong.

    python -m boe_core.bench roots --task sudoku --split val --n 200 --policies confidence threshold \\
        --methods lowest-confidence leave-one-out grad-likelihood counterfactual

For each policy, the first N problems of the split are decoded (the task's model, `--steps` steps,
seed 0) and judged by the task's checker. For every run that ends wrong, the truth is the earliest
wrong commit (a token differing from the reference) whose single correction (the reference token at
its commit step, then the run's policy) makes the answer right; runs where no single correction
does are counted apart. Every method ranks the run's decoded commits; hit@k counts the truth among
the first k with ties against it, with run-bootstrap 95% intervals and the chance level of a
uniform ranking. Each cheap ranking is compared with the exact counterfactual one (Spearman per
run, averaged). Per-run results are cached under results/<task>/roots/ (git-ignored), so a stopped
run resumes. The tables: results/<task>/roots_<split>.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..counterfactuals import commits_of, counterfactuals
from ..errors import ConfigError
from ..fidelity import spearman
from ..roots import ROOT_FINDERS, chance_at, pessimistic_rank, score_finders, true_root
from ..sampler import generate
from ..paths import result_file, results_for


def default_steps(task) -> int:
    """sudoku: 12 (the budget of the first check); reasoning tasks: 2 tokens per step."""
    g = getattr(task, "gen_length", None)
    return 12 if g is None else g // 2


def reference(task, adapter, examples, ids: torch.Tensor) -> np.ndarray:
    """(B, N) the canvas holding each example's reference answer (the checker's tokens), from the
    task's own `answer_canvas` (the same answer the oracle ceiling reads); elsewhere the run's ids."""
    ref = task.answer_canvas(adapter, examples)
    if ref is None:
        raise ConfigError("task", task.name, "the roots bench needs a task with a reference answer "
                                             "(sudoku or a reasoning task)")
    ref = torch.as_tensor(ref, dtype=torch.long)
    return torch.where(ref >= 0, ref, ids.to(ref.device)).numpy()


def judge_of(task, adapter, example):
    return lambda final: bool(task.score(adapter, [example], np.asarray(final)[None])[0][task.metric] >= 1)


def run_row(adapter, task, trace, row: int, example, target, methods) -> dict:
    """Everything about one failing run: the truth, the counterfactuals and every method's scores."""
    judge = judge_of(task, adapter, example)
    t0 = time.perf_counter()
    truth = true_root(adapter, trace, row, target, judge)
    t_truth = time.perf_counter() - t0
    cf = counterfactuals(adapter, trace, row, judge=judge, store=False)
    cm = commits_of(trace, row)
    scores, secs = {}, {"truth": t_truth, "counterfactual": cf.seconds}
    # only finders built on the branches reuse them: the others are timed alone
    for m, s, took in score_finders(adapter, trace, row, methods, cf, share=False):
        finder = ROOT_FINDERS.get(m)
        scores[m] = s.tolist()
        if finder.combine is not None and all(k in secs for k in finder.inputs):
            secs[m] = sum(secs[k] for k in finder.inputs)  # built from its inputs: charged their time
        else:  # a finder that reads the branches is charged for them too
            secs.setdefault(m, took + (cf.seconds if finder.needs_counterfactuals else 0.0))
    return {"commits": cm, "wrong": truth.wrong, "fixing": truth.fixing,
            "root": None if truth.root is None else cm.index(tuple(truth.root)),
            "first_wrong": None if not truth.wrong else cm.index(tuple(truth.wrong[0])),
            "cf_fixes": int(sum(bool(x) for x in cf.fixes)), "replay_exact": cf.replay_exact,
            "scores": {m: _clean(v) for m, v in scores.items()},
            "seconds": secs, "forwards": {"counterfactual": cf.forwards, "truth": truth.forwards}}


def _missing(rec: dict, methods) -> list[str]:
    return [] if rec["solved"] else [m for m in methods if m not in rec["scores"]]


def _clean(v) -> list[float]:
    return [float(x) if np.isfinite(x) else -1e300 for x in v]


def cache_dir(task, split, policy, steps) -> Path:
    return results_for(task) / "roots" / f"{split}_{policy.replace(':', '-')}_{steps}"


def collect(adapter, task, split: str, n: int, policy: str, steps: int, methods, batch_size: int,
            deadline: float) -> tuple[list[dict], bool]:
    """Per-example records (cached): {"idx", "solved"} plus `run_row` for failing runs. Returns
    (records, complete)."""
    from .runner import task_base_config
    from .specs import parse_spec

    d = cache_dir(task.name, split, policy, steps)
    d.mkdir(parents=True, exist_ok=True)
    examples = task.load(split, n)
    out = []
    for i in range(0, len(examples), batch_size):
        batch = examples[i:i + batch_size]
        files = [d / f"{i + j}.json" for j in range(len(batch))]
        cached = [json.loads(f.read_text()) if f.is_file() else None for f in files]
        if all(c is not None and not _missing(c, methods) for c in cached):
            out.extend(cached)
            continue
        if time.time() > deadline:
            return out, False
        ids, am = task.canvas(adapter, batch)
        cfg = parse_spec(policy).config(steps=steps, seed=0, base=task_base_config(task))
        trace = generate(adapter, canvas=ids, attention_mask=am, config=cfg)
        ok = [s[task.metric] >= 1 for s in task.score(adapter, batch, trace.final_canvas)]
        target = reference(task, adapter, batch, ids)
        for j, e in enumerate(batch):
            rec = cached[j]
            if rec is not None:
                for m in _missing(rec, methods):  # a method added since: score the cached run with it
                    t = time.perf_counter()
                    f = ROOT_FINDERS.get(m)
                    if f.combine is not None and all(k in rec["scores"] for k in f.inputs):
                        # built from cached scores: the same numbers, charged its inputs' time
                        rec["scores"][m] = _clean(f.from_scores(rec["scores"]))
                        rec.setdefault("seconds", {})[m] = sum(rec["seconds"].get(k, 0.0) for k in f.inputs)
                        continue
                    rec["scores"][m] = _clean(f.score(adapter, trace, j))
                    rec.setdefault("seconds", {})[m] = time.perf_counter() - t
                files[j].write_text(json.dumps(rec))
                out.append(rec)
                continue
            if time.time() > deadline:
                return out, False
            rec = {"idx": i + j, "solved": bool(ok[j])}
            if not ok[j]:
                rec.update(run_row(adapter, task, trace, j, e, target[j], methods))
            files[j].write_text(json.dumps(rec))
            out.append(rec)
    return out, True


def summarise(records: list[dict], methods, n_boot: int = 1000, seed: int = 0) -> dict:
    fail = [r for r in records if not r["solved"]]
    rooted = [r for r in fail if r["root"] is not None]
    out = {"runs": len(records), "failing": len(fail), "single_fix": len(rooted),
           "single_fix_share": len(rooted) / len(fail) if fail else float("nan"),
           "root_is_first_wrong": float(np.mean([r["root"] == r["first_wrong"] for r in rooted])) if rooted else float("nan"),
           "commits": float(np.mean([len(r["commits"]) for r in rooted])) if rooted else float("nan"),
           "methods": {}}
    rng = np.random.default_rng(seed)
    boot = [rng.integers(0, len(rooted), len(rooted)) for _ in range(n_boot)] if rooted else []
    for m in methods:
        ranks = np.array([pessimistic_rank(r["scores"][m], r["root"]) for r in rooted])
        s = {}
        for k in (1, 3):
            hits = (ranks <= k).astype(float) if rooted else np.zeros(0)
            s[f"hit@{k}"] = float(hits.mean()) if rooted else float("nan")
            s[f"hit@{k}_ci"] = ([float(np.percentile([hits[b].mean() for b in boot], q)) for q in (2.5, 97.5)]
                                if rooted else [float("nan")] * 2)
            s[f"chance@{k}"] = float(np.mean([chance_at(len(r["commits"]), k) for r in rooted])) if rooted else float("nan")
        rhos = [spearman(r["scores"][m], r["scores"]["counterfactual"]) for r in fail
                if "counterfactual" in r["scores"] and m != "counterfactual"]
        rhos = [x for x in rhos if x == x]
        s["spearman_vs_exact"] = float(np.mean(rhos)) if rhos else float("nan")
        s["seconds_per_run"] = float(np.mean([r["seconds"].get(m, 0.0) for r in fail])) if fail else float("nan")
        out["methods"][m] = s
    return out


def markdown(task: str, split: str, steps: int, summaries: dict) -> str:
    lines = []
    for policy, s in summaries.items():
        lines.append(f"**{task}, {split}, {policy} at {steps} steps**: {s['runs']} runs, {s['failing']} end wrong, "
                     f"a single correction fixes {s['single_fix']} "
                     f"({s['single_fix_share']:.2f}); the root is the first wrong commit in "
                     f"{s['root_is_first_wrong']:.2f} of those; {s['commits']:.1f} commits per run.\n")
        lines += ["| method | hit@1 [95% CI] | hit@3 [95% CI] | chance @1 / @3 | Spearman vs exact | s / run |",
                  "|---|---|---|---|---|---|"]
        for m, v in s["methods"].items():
            ci = lambda k: f"{v[f'hit@{k}']:.2f} [{v[f'hit@{k}_ci'][0]:.2f}, {v[f'hit@{k}_ci'][1]:.2f}]"  # noqa: E731
            rho = "—" if m == "counterfactual" or v["spearman_vs_exact"] != v["spearman_vs_exact"] else \
                f"{v['spearman_vs_exact']:.2f}"
            lines.append(f"| {m} | {ci(1)} | {ci(3)} | {v['chance@1']:.2f} / {v['chance@3']:.2f} | {rho} "
                         f"| {v['seconds_per_run']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    from ..models import load_model
    from .tasks import make_task

    p = argparse.ArgumentParser(prog="python -m boe_core.bench roots", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="sudoku")
    p.add_argument("--model", default=None)
    p.add_argument("--split", default="val")
    p.add_argument("--n", type=int, default=100, help="first N problems of the split")
    p.add_argument("--steps", type=int, default=None, help="decoding steps (default: sudoku 12, reasoning 2 per step)")
    p.add_argument("--policies", nargs="+", default=["confidence"])
    p.add_argument("--methods", nargs="+", default=None, help="root finders (default: all registered)")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-seconds", type=float, default=540, help="stop starting new runs after this (resume later)")
    p.add_argument("--out", default=None, help="output stem (default results/<task>/roots_<split>)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    methods = a.methods or ROOT_FINDERS.names()
    for m in methods:
        ROOT_FINDERS.get(m)
    if "counterfactual" not in methods:
        methods = [*methods, "counterfactual"]  # the exact ranking the cheap ones are compared with
    task = make_task(a.task)
    adapter = load_model(a.model or task.default_model)
    steps = a.steps or default_steps(task)
    deadline = time.time() + a.max_seconds
    summaries, complete = {}, True
    for policy in a.policies:
        recs, done = collect(adapter, task, a.split, a.n, policy, steps, methods, a.batch_size, deadline)
        complete &= done
        summaries[policy] = summarise(recs, methods)
        summaries[policy]["complete"] = done
    stem = Path(a.out or result_file(a.task, "roots", a.split, ext="json").with_suffix(""))
    stem.parent.mkdir(parents=True, exist_ok=True)
    md = markdown(a.task, a.split, steps, summaries)
    stem.with_suffix(".json").write_text(json.dumps({"task": a.task, "split": a.split, "n": a.n, "steps": steps,
                                                     "model": adapter.name, "summaries": summaries}, indent=1))
    stem.with_suffix(".md").write_text(md)
    print(md)
    print(("complete" if complete else "INCOMPLETE (time budget): run the same command again to resume")
          + f"; written {stem.with_suffix('.json')} and .md")


if __name__ == "__main__":
    main()
