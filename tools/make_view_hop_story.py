"""The explorer's view-hop story (issue #29): a hard *validation* puzzle that confidence (one cell a
step) and the `planner` both lose and the `view-hop` policy (boe_core/policies/view_hop.py) solves,
with what view-hop did at the steps where nothing in the canvas cleared τ.

It decodes the first --n hard val puzzles with the three and keeps the first such puzzle. The facts
come from the runs: confidence's first wrong commit, the planner's first wrong guess, and every step
where view-hop read another view: the view that was sure and the cells it committed, or its guess,
against the cell confidence would have committed there (`confidence_pick`) and whether each is
right. The story replaces any earlier view-hop story in assets/examples/stories_sudoku.json; the
other stories are kept.

    python tools/make_view_hop_story.py --n 40
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_planner_story import PRESET as PLANNER, where  # noqa: E402
from make_stories import decode, hard_val_sudoku, replace_story, settings_of  # noqa: E402

from boe_core import diff  # noqa: E402

PRESET = "view-hop (one view where unsure)"
KIND = "view-hop-instead"


def hop_steps(run, target, tok) -> list[dict]:
    """Every step of `run` where view-hop read another view: what it committed, against confidence's pick."""
    out = []
    for r in run.records:
        hv = r.signals.get("hop_view")
        if hv is None or not r.eligible[0].any() or not np.isfinite(hv[0]).any():
            continue
        cells = np.flatnonzero(r.chosen[0])
        conf = int(np.flatnonzero(r.signals["confidence_pick"][0])[0])
        view = int(hv[0][cells[0]])
        out.append({"step": r.step, "view": view, "guess": view == 0,
                    "cells": [f"{where(c)} = {tok(r.canvas_after[0][c])}" for c in cells],
                    "all_right": bool((r.canvas_after[0][cells] == target[cells]).all()),
                    "confidence": where(conf), "confidence_digit": tok(r.proposals[0][conf]),
                    "confidence_p": round(float(r.confidence[0][conf]), 3),
                    "confidence_right": bool(r.proposals[0][conf] == target[conf])})
    return out


def explain(f: dict) -> str:
    fw, hops = f["confidence_first_wrong"], f["hop_steps"]
    sure = [s for s in hops if not s["guess"]]
    guesses = [s for s in hops if s["guess"]]
    times = lambda k: "once" if k == 1 else f"{k} times"  # noqa: E731
    pw = f["planner_first_wrong"]
    text = (f"A hard puzzle ({f['clues']} clues). Confidence, one cell a step, commits its first wrong digit at step "
            f"{fw['step']} ({fw['where']} = {fw['digit']}). The planner, averaging 4 views where it hesitates, "
            f"{'guesses' if pw['guess'] else 'commits'} wrong at its step {pw['step']} ({pw['where']} = {pw['digit']}) "
            f"and ends with "
            f"{f['planner_wrong_cells']} wrong cells. View-hop commits every cell whose confidence clears "
            f"τ = {f['tau']}; where none does ({times(len(hops))} here) it reads the grid in one other symmetric "
            f"view: {times(len(sure))} that view was sure of some cells, which it committed with that view's "
            f"digits, and it guessed {times(len(guesses))}"
            f"{' (all right)' if all(s['all_right'] for s in guesses) else ''}. ")
    saves = [s for s in sure if not s["confidence_right"]]
    if saves:
        s = saves[0]
        text += (f"At its step {s['step']} confidence would have committed {s['confidence']} = {s['confidence_digit']} "
                 f"(p = {s['confidence_p']:.2f}, wrong); view {s['view']} was sure of {', '.join(s['cells'][:4])}"
                 f"{' …' if len(s['cells']) > 4 else ''} instead ({'all right' if s['all_right'] else 'not all right'}). ")
    text += (f"View-hop's grid is right, for {f['view_hop_forwards']} forward-equivalents against the planner's "
             f"{f['planner_forwards']} and confidence's {f['confidence_forwards']}.")
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
        plan = decode(adapter, view, values, PLANNER)
        if view.solved(plan, plan.num_steps - 1):
            continue
        hop = decode(adapter, view, values, PRESET)
        if not view.solved(hop, hop.num_steps - 1):
            print(f"hard val {i}: all three wrong")
            continue
        target = np.asarray(task.answer_canvas(adapter, [ex]))[0]
        fw, pw = view.first_wrong(conf), view.first_wrong(plan)
        ps = plan.records[pw["step"]].signals.get("planner_score")
        planner_guessed = bool(ps is not None and np.isfinite(ps[0][pw["position"]]))
        wrong = lambda run: int((run.final_canvas[0] != np.where(target >= 0, target, run.final_canvas[0])).sum())  # noqa: E731
        facts = {"example": f"hard val {i}", "clues": 81 - ex["puzzle"].count("0"), "tau": settings_of(PRESET)["tau"],
                 "confidence_first_wrong": {"step": fw["step"], "where": where(fw["position"]), "digit": str(fw["digit"])},
                 "planner_first_wrong": {"step": pw["step"], "where": where(pw["position"]), "digit": str(pw["digit"]),
                                         "guess": planner_guessed},
                 "confidence_wrong_cells": wrong(conf), "planner_wrong_cells": wrong(plan),
                 "confidence_forwards": int(sum(r.n_forward for r in conf.records)),
                 "planner_forwards": int(sum(r.n_forward for r in plan.records)),
                 "view_hop_steps": hop.num_steps, "view_hop_forwards": int(sum(r.n_forward for r in hop.records)),
                 "hop_steps": hop_steps(hop, target, tok),
                 "first_divergent_step": diff(conf, hop).first_divergent_step, "hard_val_puzzles_tried": i + 1}
        new = {"label": f"hard val {i}: confidence and the planner lose it; the views that were sure win it",
               "kind": KIND, "values": values, "run_preset": PRESET, "run_settings": settings_of(PRESET),
               "other_preset": "confidence", "branch_at": int(facts["first_divergent_step"] or 0), "facts": facts,
               "explanation": explain(facts)}
        replace_story("sudoku", new)
        print(new["explanation"])
        return 0
    print(f"no hard val puzzle among the first {a.n} that confidence and the planner lose and view-hop solves")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
