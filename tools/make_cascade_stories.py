"""Cascade stories for the explorer's Cascade tab, from measured facts: a run, the commit its
counterfactuals and the default root finder put first, and the run with that commit replaced.

- english (no checker): the explorer's default prompt, then the first words of validation texts,
  decoded with the model's default preset, until one run loops (a word 3-gram written at least
  twice). For that run: the counterfactuals (every commit swapped for its runner-up, the run's
  policy on), the top commit by the exact score g and by the default one-pass finder
  (grad-likelihood), each one's rank under every finder, and the run with the exact top's
  runner-up written one step after its commit (what a click in the tab opens): does the loop go
  away? Also: how many of all the counterfactuals end without the repeated phrase, and, over the
  other prompts tried (the survey), how often replacing a finder's top commit shortens or ends a loop.
- bio (a checker): validation questions decoded with confidence (2 tokens per step, as in the
  roots table), until a failing run has a single commit whose correction makes the answer right
  (boe_core.roots.true_root). For it: that root, its rank under every finder, whether its
  runner-up counterfactual fixes the answer too, and the run with the correct token written.

- sudoku (a checker), a hard puzzle: hard validation puzzles (27 clues) decoded with confidence at
  24 steps, until a failing run has a root (a single fixing commit) and the library's root repair
  (`boe_core.repair.root_repair`, its defaults) makes it right. For it: where confidence lost it
  (its first wrong commit, the root), whether the oracle order would have solved it with the same
  proposals, the root's rank under every finder, and what repair committed instead, round by round.
  The story also runs repair in the tab ("repair": its rounds).

Each story (kind "cascade") is added to assets/examples/stories_<model>.json (a cascade story
already there is replaced; the other stories are kept). The Cascade tab's story picker runs it and
computes the counterfactuals; tests/test_cascade_stories.py checks that it shows these facts.

    python tools/make_cascade_stories.py --model english --prompts 12
    python tools/make_cascade_stories.py --model bio --n 40
    python tools/make_cascade_stories.py --model sudoku --n 40
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from app.handlers import default_inputs, preset_values
from boe_core import DecodeConfig, counterfactuals, generate, intervene, load_model
from boe_core.presets import default_preset_for
from boe_core.roots import ROOT_FINDERS, find_roots, true_root
from boe_core.tasks.views import get_view

ROOT = Path(__file__).resolve().parents[1]
EXACT, ONE_PASS = "counterfactual", "grad-likelihood"
LOOP_N = 3  # a loop: a word n-gram of the generated text that occurs again


def decode(adapter, view, values: dict, policy: str, settings: dict):
    plan = view.build_canvas(adapter, values)
    cfg = DecodeConfig(policy=policy, steps=int(values["steps"]), settings=settings).validate()
    return generate(adapter, canvas=plan.ids, attention_mask=plan.attention_mask, config=cfg, meta=plan.meta)


def generated(trace) -> np.ndarray:
    """The decoded positions of row 0, in canvas order."""
    return np.flatnonzero(~trace.fixed[0] & trace.records[0].masked[0])


def text_of(adapter, trace, final=None) -> str:
    final = trace.final_canvas[0] if final is None else final
    return adapter.decode([int(t) for t in final[generated(trace)]])


def loop_of(text: str, n: int = LOOP_N) -> dict | None:
    """The most frequent word n-gram of `text` when it occurs more than once ({"phrase", "times",
    "repeats": n-grams that repeat an earlier one}), or None (no n-gram repeats)."""
    words = text.split()
    grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    if len(set(grams)) == len(grams):
        return None
    top = max(dict.fromkeys(grams), key=grams.count)  # ties: the first written
    return {"phrase": top, "times": grams.count(top), "repeats": len(grams) - len(set(grams))}


def repeats(text: str) -> int:
    loop = loop_of(text)
    return 0 if loop is None else loop["repeats"]


def ranks(adapter, trace, cf) -> dict[str, list[tuple[int, int]]]:
    """Every registered finder's order of the commits (as the Cascade tab computes them)."""
    return {name: find_roots(adapter, trace, 0, name, counterfactuals=cf) for name in ROOT_FINDERS.names()}


def token_of(adapter, t) -> str:
    return adapter.decode([int(t)]).strip() or adapter.id_to_token(int(t))


def commit_facts(adapter, trace, cf, order: dict, step: int, pos: int) -> dict:
    j = cf.commits().index((step, pos))
    tok = lambda t: token_of(adapter, t)  # noqa: E731
    return {"step": step, "position": pos, "token": tok(cf.tokens[j]), "runner_up": tok(cf.alternatives[j]),
            "p": round(float(cf.p[j]), 4), "q": round(float(cf.q[j]), 4), "g": round(float(cf.g[j]), 3),
            "cells_changed": int(cf.dependency[j].sum()),
            "ranks": {name: o.index((step, pos)) + 1 for name, o in order.items()}}


def root_facts(adapter, trace, root: tuple[int, int]) -> tuple:
    """(counterfactuals, every finder's order, the root commit's facts, the counterfactuals' seconds)
    of a run whose root is known."""
    t0 = time.perf_counter()
    cf = counterfactuals(adapter, trace)
    secs = time.perf_counter() - t0
    order = ranks(adapter, trace, cf)
    return cf, order, commit_facts(adapter, trace, cf, order, *root), secs


def ranks_text(r: dict) -> str:
    return ", ".join(f"{n} {k}" for n, k in sorted(r.items(), key=lambda x: (x[1], x[0])))


def story_values(values: dict) -> dict:
    return {k: values[k] for k in ("prompt", "gen_length", "steps") if k in values}


# --- english: a loop and the commit it hangs on ------------------------------------------------
def english_prompts(model: str, n: int) -> list[str]:
    from boe_core.tasks.english import load_texts

    out = [default_inputs(model)["prompt"]]
    for corpus in ("kjv", "austen"):
        out += [" ".join(t.split()[:5]) for t in load_texts(corpus, "val")[:n]]
    return out[:n]


def survey(adapter, view, pv, prompts: list[str], d: dict, log) -> dict:
    """Over other prompts: of the runs that loop, how often the exact top's counterfactual (and
    grad-likelihood's) ends with fewer repeats or none, and how many have a loop-free counterfactual."""
    rows = []
    for prompt in prompts:
        values = {"prompt": prompt, "gen_length": d["gen_length"], "steps": d["steps"]}
        tr = decode(adapter, view, values, pv["policy"], pv["settings"])
        run = repeats(text_of(adapter, tr))
        if run == 0:
            rows.append({"prompt": prompt, "loops": False})
            continue
        cf = counterfactuals(adapter, tr)
        texts = [text_of(adapter, tr, cf.finals[j]) for j in range(cf.n)]
        exact = repeats(texts[cf.commits().index(cf.ranking()[0])])
        one = repeats(texts[cf.commits().index(find_roots(adapter, tr, 0, ONE_PASS)[0])])
        rows.append({"prompt": prompt, "loops": True, "repeats": run, "exact_top_repeats": exact,
                     "one_pass_top_repeats": one, "loop_free_counterfactuals": sum(repeats(t) == 0 for t in texts),
                     "commits": cf.n})
        log(f"  survey {prompt!r}: repeats {run}; exact top -> {exact}, {ONE_PASS} top -> {one}; "
            f"{rows[-1]['loop_free_counterfactuals']} loop-free of {cf.n}")
    loops = [r for r in rows if r["loops"]]
    return {"prompts": len(rows), "looping": len(loops),
            "exact_top_fewer": sum(r["exact_top_repeats"] < r["repeats"] for r in loops),
            "exact_top_loop_free": sum(r["exact_top_repeats"] == 0 for r in loops),
            "one_pass_top_fewer": sum(r["one_pass_top_repeats"] < r["repeats"] for r in loops),
            "one_pass_top_loop_free": sum(r["one_pass_top_repeats"] == 0 for r in loops),
            "with_a_loop_free_counterfactual": sum(r["loop_free_counterfactuals"] > 0 for r in loops), "runs": rows}


def english_story(adapter, model: str, n_prompts: int, log) -> dict | None:
    view = get_view(getattr(adapter, "task", "text"))
    preset = default_preset_for(model)
    pv = preset_values(preset, model)
    d = default_inputs(model)
    tried = []
    prompts = english_prompts(model, n_prompts)
    for i, prompt in enumerate(prompts):
        values = {"prompt": prompt, "gen_length": d["gen_length"], "steps": d["steps"]}
        tr = decode(adapter, view, values, pv["policy"], pv["settings"])
        run_text = text_of(adapter, tr)
        loop = loop_of(run_text)
        log(f"{prompt!r}: {run_text!r}; loop {loop}")
        tried.append({"prompt": prompt, "text": run_text, "loops": loop is not None})
        if loop is None:
            continue
        t0 = time.perf_counter()
        cf = counterfactuals(adapter, tr)
        secs = time.perf_counter() - t0
        order = ranks(adapter, tr, cf)
        exact = commit_facts(adapter, tr, cf, order, *order[EXACT][0])
        one = commit_facts(adapter, tr, cf, order, *order[ONE_PASS][0])
        branch = intervene(adapter, tr, exact["step"] + 1, {exact["position"]: int(cf.alternatives[
            cf.commits().index((exact["step"], exact["position"]))])})
        branch_text = text_of(adapter, tr, branch.final_canvas[0])
        branch_loop = loop_of(branch_text)
        texts = [text_of(adapter, tr, cf.finals[j]) for j in range(cf.n)]
        no_loop = [j for j in range(cf.n) if loop_of(texts[j]) is None]
        keeps = [j for j in range(cf.n) if loop["phrase"] in texts[j]]
        least = min(range(cf.n), key=lambda j: (repeats(texts[j]), cf.commits()[j]))  # the least repetitive
        least_facts = {**commit_facts(adapter, tr, cf, order, *cf.commits()[least]), "text": texts[least],
                       "loop": loop_of(texts[least])}
        one_branch = texts[cf.commits().index((one["step"], one["position"]))]
        log(f"  exact top {exact}; {ONE_PASS} top {one}")
        log(f"  branch: {branch_text!r}; loop {branch_loop}; {len(no_loop)} of {cf.n} counterfactuals end loop-free")
        facts = {"prompt": prompt, "preset": preset, "steps": tr.num_steps, "run_text": run_text, "loop": loop,
                 "commits": cf.n, "counterfactual_seconds": round(secs, 1), "exact_top": exact, "one_pass_top": one,
                 "branch_text": branch_text, "branch_loop": branch_loop,
                 "branch_final": [int(t) for t in branch.final_canvas[0]],
                 "loop_free_counterfactuals": len(no_loop), "phrase_kept_counterfactuals": len(keeps),
                 "one_pass_branch_text": one_branch, "one_pass_branch_loop": loop_of(one_branch),
                 "least_repetitive": least_facts,
                 "survey": survey(adapter, view, pv, prompts[i + 1:], d, log),
                 "prompts_tried": tried}
        return story(f"english: the loop {loop['phrase']!r} and the commit it hangs on", values, preset, pv, exact,
                     facts, explain_english(facts))
    log(f"no looping run among {len(tried)} prompts")
    return None


def explain_english(f: dict) -> str:
    e, o, loop = f["exact_top"], f["one_pass_top"], f["loop"]

    def how(lp) -> str:
        return "no repeated phrase" if lp is None else f"{lp['phrase']!r} {lp['times']} times, {lp['repeats']} repeats"

    text = (f"The {f['preset']} run of {f['prompt']!r} ({f['steps']} steps) writes {f['run_text']!r} "
            f"({how(loop)}). There is no checker: the Cascade tab asks each of its {f['commits']} commits what the "
            f"run would have been with its runner-up. The exact score g puts first step {e['step']}'s {e['token']!r} "
            f"(position {e['position']}, p = {e['p']:.2f}): its runner-up {e['runner_up']!r} (q = {e['q']:.2f}) makes "
            f"the whole continued trajectory more likely (g = {e['g']:+.2f}) and changes {e['cells_changed']} other "
            f"tokens. ")
    if (o["step"], o["position"]) == (e["step"], e["position"]):
        text += f"The default one-pass finder, {ONE_PASS}, puts the same commit first. "
    else:
        text += (f"The default one-pass finder, {ONE_PASS}, puts step {o['step']}'s {o['token']!r} first instead "
                 f"(rank {o['ranks'][EXACT]} by g; the exact top is its rank {e['ranks'][ONE_PASS]}); with "
                 f"{o['runner_up']!r} there the run reads {f['one_pass_branch_text']!r} "
                 f"({how(f['one_pass_branch_loop'])}). ")
    text += (f"With {e['runner_up']!r} written after step {e['step']} (a click on the top row), the run reads "
             f"{f['branch_text']!r} ({how(f['branch_loop'])}): ")
    bl = f["branch_loop"]
    if bl is None:
        text += "the loop is gone. "
    elif bl["repeats"] >= loop["repeats"]:
        text += ("the loop does not go away. A likelier trajectory is not a better text here: the model finds "
                 "repetition likely, so the exact score rewards it. ")
    else:
        text += "the loop is shorter but still there. "
    lf = f["least_repetitive"]
    text += (f"Of all {f['commits']} counterfactuals, {f['loop_free_counterfactuals']} end with no repeated "
             f"{LOOP_N}-word phrase and {f['phrase_kept_counterfactuals']} still contain {loop['phrase']!r}; the least "
             f"repetitive replaces step {lf['step']}'s {lf['token']!r} by {lf['runner_up']!r} (rank {lf['ranks'][EXACT]} "
             f"by g) and reads {lf['text']!r} ({how(lf['loop'])}). ")
    if f["loop_free_counterfactuals"] == 0:
        text += "So this loop hangs on no single commit. "
    sv = f["survey"]
    if sv["looping"]:
        text += (f"On the next {sv['prompts']} prompts (validation texts' first words), {sv['looping']} runs loop too; "
                 f"replacing the exact score's top commit leaves fewer repeats in {sv['exact_top_fewer']} and none in "
                 f"{sv['exact_top_loop_free']}, {ONE_PASS}'s top in {sv['one_pass_top_fewer']} and "
                 f"{sv['one_pass_top_loop_free']}, and {sv['with_a_loop_free_counterfactual']} have any loop-free "
                 f"counterfactual.")
    return text.strip()


# --- bio: a wrong fact, its single correction, and the finders' ranks -------------------------
def bio_story(adapter, model: str, n: int, per_step: int, log) -> dict | None:
    from boe_core.counterfactuals import view_judge
    from boe_core.tasks.reasoning import get_task

    view = get_view(adapter.task)
    task = get_task("bio")
    failing = 0
    for i, ex in enumerate(task.split("val", n)):
        values = {"prompt": task.tag + ex.prompt, "steps": -(-task.gen_length // per_step)}
        tr = decode(adapter, view, values, "confidence", {})
        if view.solved(tr, tr.num_steps - 1):
            continue
        failing += 1
        target = tr.initial_canvas[0].copy()  # the reference answer in the explorer's canvas
        start = int(np.flatnonzero(~tr.fixed[0])[0])
        ref = adapter.encode(ex.answer)[:task.gen_length]
        target[start:start + task.gen_length] = ref + [adapter.tokenizer.eos_id] * (task.gen_length - len(ref))
        truth = true_root(adapter, tr, 0, target, view_judge(tr))
        log(f"bio val {i}: wrong ({view.canvas_text(tr, tr.num_steps - 1)!r}); {len(truth.wrong)} wrong commits, "
            f"{len(truth.fixing)} fixing")
        if truth.root is None:
            continue
        s, p = truth.root
        cf, order, root, secs = root_facts(adapter, tr, (s, p))
        right = int(target[p])
        root["correct"] = adapter.decode([right])
        fixed = intervene(adapter, tr, s + 1, {p: right})
        j = cf.commits().index((s, p))
        facts = {"example": f"bio val {i}", "prompt": values["prompt"], "policy": "confidence", "steps": tr.num_steps,
                 "reference": ex.answer, "run_answer": view.answer_at(tr, tr.num_steps - 1),
                 "commits": cf.n, "wrong_commits": len(truth.wrong), "counterfactual_seconds": round(secs, 1),
                 "fixing_commits": [list(c) for c in truth.fixing], "root": root,
                 "runner_up_fixes": cf.fixes[j] if cf.fixes else None,
                 "fixes_any": int(sum(bool(x) for x in cf.fixes)),
                 "fixed_answer": view.answer_at(fixed, fixed.num_steps - 1),
                 "fixed_solved": bool(view.solved(fixed, fixed.num_steps - 1)),
                 "exact_top": commit_facts(adapter, tr, cf, order, *order[EXACT][0]),
                 "one_pass_top": commit_facts(adapter, tr, cf, order, *order[ONE_PASS][0]),
                 "failing_runs_tried": failing, "val_questions_tried": i + 1}
        log(f"  root {root}; fixed: {facts['fixed_answer']!r} solved={facts['fixed_solved']}")
        return story(f"bio val {i}: the wrong fact the answer hangs on", values, "confidence",
                     {"policy": "confidence", "settings": {}}, root, facts, explain_bio(facts))
    log(f"no failing run with a single fixing commit among {n} val questions ({failing} failing)")
    return None


def explain_bio(f: dict) -> str:
    r, e, o = f["root"], f["exact_top"], f["one_pass_top"]
    n = f["commits"]
    text = (f"Confidence ({f['steps']} steps, 2 characters a step) answers {f['prompt']!r} with "
            f"{f['run_answer']!r}; the reference is {f['reference']!r}. {f['wrong_commits']} commits differ from it. "
            f"Corrected one at a time (the reference character written after its step, confidence on), "
            f"{len(f['fixing_commits'])} of them {'makes' if len(f['fixing_commits']) == 1 else 'make'} the answer right; the earliest, the root, is step {r['step']}'s "
            f"{r['token']!r} (position {r['position']}, p = {r['p']:.2f}) where the reference has {r['correct']!r}. "
            f"Written there, the run answers {f['fixed_answer']!r} ({'right' if f['fixed_solved'] else 'still wrong'}). "
            f"Without the checker, the root finders rank the root among the {n} commits: {ranks_text(r['ranks'])}. "
            f"The exact score's first suspect is step {e['step']}'s {e['token']!r} (position {e['position']}), "
            f"{ONE_PASS}'s is step {o['step']}'s {o['token']!r} (position {o['position']}). ")
    text += (f"The root's runner-up {r['runner_up']!r} {'also makes' if f['runner_up_fixes'] else 'does not make'} "
             f"the answer right ({f['fixes_any']} of the {n} counterfactuals do: the tab's fixes? column); a click "
             f"on the root's row opens that counterfactual in Compare.")
    return text


# --- sudoku: a hard puzzle, where confidence lost it and what repair committed instead ------------
def sudoku_story(adapter, n: int, steps: int, rounds: int, log) -> dict | None:
    from boe_core.bench.tasks import make_task
    from boe_core.ceiling import order_ceiling
    from boe_core.counterfactuals import view_judge
    from boe_core.repair import root_repair

    view = get_view(adapter.task)
    task = make_task("sudoku")
    examples = task.load("hard_val", n)
    where = lambda p: f"r{p // 9 + 1}c{p % 9 + 1}"  # noqa: E731
    tok = lambda t: token_of(adapter, t)  # noqa: E731
    failing = rooted = 0
    for i, ex in enumerate(examples):
        values = {"puzzle": ex["puzzle"], "steps": steps}
        tr = decode(adapter, view, values, "confidence", {})
        ids, _ = task.canvas(adapter, [ex])
        assert np.array_equal(ids.numpy(), tr.initial_canvas), "the explorer's canvas must be the bench's"
        if view.solved(tr, tr.num_steps - 1):
            continue
        failing += 1
        target = np.asarray(task.answer_canvas(adapter, [ex]))[0]
        target = np.where(target >= 0, target, tr.initial_canvas[0])
        judge = view_judge(tr)
        truth = true_root(adapter, tr, 0, target, judge)
        if truth.root is None:
            log(f"hard val {i}: wrong, {len(truth.wrong)} wrong commits, none fixes it alone")
            continue
        rooted += 1
        rep = root_repair(adapter, tr, 0, rounds=rounds)
        repaired = bool(judge(rep.final))
        log(f"hard val {i}: root {truth.root}, repair {'solves' if repaired else 'does not solve'} it "
            f"({len(rep.rounds)} rounds, {sum(r.accepted for r in rep.rounds)} kept)")
        if not repaired:
            continue
        oracle = order_ceiling(adapter, tr, target[None])
        p = truth.root[1]
        cf, order, root, secs = root_facts(adapter, tr, truth.root)
        root.update(where=where(p), correct=tok(target[p]))
        facts = {"example": f"hard val {i}", "puzzle": ex["puzzle"], "clues": 81 - ex["puzzle"].count("0"),
                 "policy": "confidence", "steps": tr.num_steps, "commits": cf.n,
                 "wrong_commits": len(truth.wrong), "wrong_cells": int((tr.final_canvas[0] != target).sum()),
                 "fixing_commits": [list(c) for c in truth.fixing], "root": root,
                 "oracle_solved": bool(judge(oracle.final_canvas[0])),
                 "counterfactual_seconds": round(secs, 1),
                 "repair": {"rounds": [{"step": r.step, "where": where(r.position), "old": tok(r.old), "new": tok(r.new),
                                        "remasked": len(r.remasked), "delta": round(r.delta, 2), "kept": r.accepted,
                                        "forwards": r.forwards} for r in rep.rounds],
                            "changed_cells": int((rep.final != rep.original).sum()), "forwards": rep.forwards,
                            "solved": repaired, "max_rounds": rounds},
                 "failing_runs_tried": failing, "rooted_runs_tried": rooted, "hard_val_puzzles_tried": i + 1}
        new = story(f"hard val {i}: where confidence lost it, and what repair committed instead", values,
                    "confidence", {"policy": "confidence", "settings": {}}, root, facts, explain_sudoku(facts))
        new["values"]["puzzle"] = ex["puzzle"]
        new["cascade"]["repair"] = rounds
        return new
    log(f"no hard val run among {n} that has a root and that repair makes right ({failing} failing, {rooted} rooted)")
    return None


def explain_sudoku(f: dict) -> str:
    r, rep = f["root"], f["repair"]
    kept = [x for x in rep["rounds"] if x["kept"]]
    text = (f"A hard puzzle ({f['clues']} clues). Confidence, {f['steps']} steps, ends with {f['wrong_cells']} wrong "
            f"cells; {f['wrong_commits']} of its commits differ from the solution. The order lost it, not the model: "
            f"the oracle order, which commits the same proposals but only right ones first, "
            f"{'solves' if f['oracle_solved'] else 'does not solve'} it. Where confidence lost it: step {r['step']}'s "
            f"{r['where']} = {r['token']} (p = {r['p']:.2f}; the solution has {r['correct']}). Corrected alone, "
            f"confidence then solves the puzzle: it is the root. Without the checker, the root finders rank it among "
            f"the {f['commits']} commits: {ranks_text(r['ranks'])}. ")
    tried = "; ".join(f"{x['where']} {x['old']} → {x['new']} ({x['remasked']} cells decoded again, "
                      f"{'kept' if x['kept'] else 'undone'})" for x in rep["rounds"])
    text += (f"Repair, which reads no checker, tried {len(rep['rounds'])} suspects, least confident first: {tried}. "
             f"It kept {len(kept)}, changed {rep['changed_cells']} cells for {rep['forwards']} forwards, and the "
             f"repaired grid is right. The repair panel below the rankings shows both grids.")
    return text


# --- the file ------------------------------------------------------------------------------------
def story(label, values, preset, pv, commit: dict, facts: dict, explanation: str) -> dict:
    return {"label": label, "kind": "cascade", "values": story_values(values), "run_preset": preset,
            "run_settings": {"policy": pv["policy"], **pv["settings"]}, "other_preset": preset,
            "branch_at": int(commit["step"]) + 1,
            "cascade": {"open": [int(commit["step"]), int(commit["position"])], "finder": ONE_PASS},
            "facts": facts, "explanation": explanation}


def write(out: Path, model: str, new: dict, made_by: str) -> None:
    doc = json.loads(out.read_text()) if out.is_file() else {"model": model, "stories": []}
    doc["stories"] = [s for s in doc.get("stories", []) if s.get("kind") != "cascade"] + [new]
    doc["made_by_cascade"] = made_by
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=["english", "bio", "sudoku"])
    ap.add_argument("--prompts", type=int, default=12, help="english: prompts to try until one loops")
    ap.add_argument("--n", type=int, default=40, help="bio, sudoku: validation problems to try")
    ap.add_argument("--steps", type=int, default=24, help="sudoku: confidence's steps")
    ap.add_argument("--rounds", type=int, default=3, help="sudoku: repair's rounds")
    ap.add_argument("--per-step", type=int, default=2, help="bio: tokens per step")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="default: assets/examples/stories_<model>.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", flush=True)

    adapter = load_model(a.model)
    if a.model == "english":
        new = english_story(adapter, a.model, a.prompts, log)
    elif a.model == "bio":
        new = bio_story(adapter, a.model, a.n, a.per_step, log)
    else:
        new = sudoku_story(adapter, a.n, a.steps, a.rounds, log)
    if new is None:
        return 1
    out = Path(a.out) if a.out else ROOT / "assets" / "examples" / f"stories_{a.model}.json"
    args = {"english": f"--prompts {a.prompts}", "bio": f"--n {a.n} --per-step {a.per_step}",
            "sudoku": f"--n {a.n} --steps {a.steps} --rounds {a.rounds}"}[a.model]
    write(out, a.model, new, f"python tools/make_cascade_stories.py --model {a.model} {args} --threads {a.threads}")
    log(f"wrote the cascade story to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
