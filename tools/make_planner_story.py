"""The explorer's planner story (issue #29): a hard *validation* puzzle where confidence, one cell
a step, loses the puzzle and the `planner` policy (boe_core/policies/planner.py) solves it, with
what the planner committed where confidence would have gone wrong.

It decodes the first --n hard val puzzles with both and keeps the first such puzzle. The facts come
from the two runs: confidence's first wrong commit, and every step where nothing cleared the
planner's τ and its symmetric views chose, with the cell they chose, the cell confidence would have
committed there (recorded by the sampler as `confidence_pick`) and whether each is right. The story replaces any earlier
planner story in assets/examples/stories_sudoku.json; the other stories are kept.

    python tools/make_planner_story.py --n 40
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_stories import decode, hard_val_sudoku, replace_story, settings_of  # noqa: E402

from boe_core import diff  # noqa: E402

PRESET = "planner (symmetric views where unsure)"
KIND = "planner-instead"


def where(p: int) -> str:
    return f"r{p // 9 + 1}c{p % 9 + 1}"


def view_steps(run, target, tok) -> list[dict]:
    """Every step of `run` where the views chose: their cell against confidence's pick there."""
    out = []
    for r in run.records:
        p = r.signals.get("planner_score")
        if p is None or not r.eligible[0].any():
            continue
        chose = int(np.flatnonzero(r.chosen[0])[0])
        conf = int(np.flatnonzero(r.signals["confidence_pick"][0])[0])
        out.append({"step": r.step, "views": where(chose), "views_digit": tok(r.proposals[0][chose]),
                    "views_p": round(float(np.exp(p[0][chose])), 3),
                    "views_right": bool(r.proposals[0][chose] == target[chose]),
                    "confidence": where(conf), "confidence_digit": tok(r.proposals[0][conf]),
                    "confidence_p": round(float(r.confidence[0][conf]), 3),
                    "confidence_right": bool(r.proposals[0][conf] == target[conf])})
    return out


def explain(f: dict) -> str:
    fw, saves = f["confidence_first_wrong"], [s for s in f["view_steps"] if not s["confidence_right"]]
    text = (f"A hard puzzle ({f['clues']} clues). Confidence, one cell a step, commits its first wrong digit at step "
            f"{fw['step']} ({fw['where']} = {fw['digit']}) and ends with {f['confidence_wrong_cells']} wrong cells. "
            f"The planner commits every cell whose confidence clears τ = {f['tau']}; where none does "
            f"({len(f['view_steps'])} times here, in {f['planner_steps']} steps) it reads the grid in {f['views']} "
            f"symmetric views as well and commits the proposal they believe most. ")
    if saves:
        s = saves[0]
        text += (f"At the planner's step {s['step']}, confidence would have committed {s['confidence']} = {s['confidence_digit']} "
                 f"(p = {s['confidence_p']:.2f}, wrong); the views chose {s['views']} = {s['views_digit']} instead "
                 f"(their mean belief {s['views_p']:.2f}, {'right' if s['views_right'] else 'wrong'}). ")
        if len(saves) > 1:
            text += f"It overruled a wrong pick of confidence's {len(saves)} times in all. "
    text += (f"The planner's grid is right, for {f['planner_forwards']} forward-equivalents against confidence's "
             f"{f['confidence_forwards']}.")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="hard val puzzles to try")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    adapter, view, task, tok, puzzles = hard_val_sudoku(a.n)
    for i, ex, values in puzzles:
        conf = decode(adapter, view, values, "confidence")
        if view.solved(conf, conf.num_steps - 1):
            continue
        plan = decode(adapter, view, values, PRESET)
        if not view.solved(plan, plan.num_steps - 1):
            print(f"hard val {i}: both wrong")
            continue
        target = np.asarray(task.answer_canvas(adapter, [ex]))[0]
        fw = view.first_wrong(conf)
        facts = {"example": f"hard val {i}", "clues": 81 - ex["puzzle"].count("0"), "tau": settings_of(PRESET)["tau"],
                 "views": settings_of(PRESET)["views"],
                 "confidence_first_wrong": {"step": fw["step"], "where": where(fw["position"]),
                                            "digit": str(fw["digit"])},
                 "confidence_wrong_cells": int((conf.final_canvas[0] != np.where(target >= 0, target,
                                                                                 conf.final_canvas[0])).sum()),
                 "confidence_forwards": int(sum(r.n_forward for r in conf.records)),
                 "planner_steps": plan.num_steps, "planner_forwards": int(sum(r.n_forward for r in plan.records)),
                 "view_steps": view_steps(plan, target, tok),
                 "first_divergent_step": diff(conf, plan).first_divergent_step, "hard_val_puzzles_tried": i + 1}
        new = {"label": f"hard val {i}: where confidence lost it, and what the planner committed instead",
               "kind": KIND, "values": values, "run_preset": PRESET, "run_settings": settings_of(PRESET),
               "other_preset": "confidence", "branch_at": int(facts["first_divergent_step"] or 0), "facts": facts,
               "explanation": explain(facts)}
        replace_story("sudoku", new)
        print(new["explanation"])
        return 0
    print(f"no hard val puzzle among the first {a.n} that confidence loses and the planner solves")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
