"""The explorer's backtracking story (issue #29): a hard *validation* puzzle that view-hop loses and
backtracking over its guesses (boe_core/backtrack.py, its defaults) wins, with each doubt and undo.

It decodes the first --n hard val puzzles with view-hop and keeps the first one where view-hop's
grid is wrong and the search's is right. The facts come from the runs: view-hop's first wrong
commit (a guess), and the search's events (where the model doubted, which guess it undid, the digit
it wrote instead). The story replaces any earlier backtracking story in
assets/examples/stories_sudoku.json; the other stories are kept.

    python tools/make_backtrack_story.py --n 40
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_planner_story import where  # noqa: E402
from make_stories import decode, hard_val_sudoku, replace_story, settings_of  # noqa: E402
from make_view_hop_story import PRESET  # noqa: E402

from boe_core import DecodeConfig  # noqa: E402
from boe_core.backtrack import BacktrackSettings, backtrack  # noqa: E402

KIND = "backtrack-undo"


def explain(f: dict) -> str:
    fw = f["view_hop_first_wrong"]
    undos = [e for e in f["events"] if "undo" in e]
    text = (f"A hard puzzle ({f['clues']} clues). View-hop commits only what the grid or one other symmetric view "
            f"is sure of, and guesses elsewhere; here its first wrong digit is "
            f"{'a guess' if fw['guess'] else 'a sure reading'} at step {fw['step']} "
            f"({fw['where']} = {fw['digit']}) and it ends with {f['view_hop_wrong_cells']} wrong cells. "
            "Open the Cascade tab, 'Search again from the run', and press 'Backtrack over its guesses': the puzzle "
            "is decoded again, the model reads back what it wrote before each guess and at the end, and a doubt "
            "undoes the latest guess. ")
    for e in undos[:3]:
        text += (f"After a doubt ({e['why']}, least believed digit {e['least']:.3f}) it undid the guess "
                 f"{e['where']} = {e['from']} and wrote {e['to']}. ")
    text += (f"{len(undos)} undo(s) in all; the kept grid is right, every digit read back at ≥ {f['least']:.2f}, "
             f"for {f['forwards']:.0f} forward-equivalents (view-hop alone: {f['view_hop_forwards']}). "
             "No rule and no answer was read.")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="hard val puzzles to try")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    adapter, view, task, tok, puzzles = hard_val_sudoku(a.n)
    for i, ex, values in puzzles:
        hop = decode(adapter, view, values, PRESET)
        if view.solved(hop, hop.num_steps - 1):
            continue
        cfg = DecodeConfig.from_dict(hop.config)
        res = backtrack(adapter, hop.initial_canvas, config=cfg, settings=BacktrackSettings())
        target = np.asarray(task.answer_canvas(adapter, [ex]))[0]
        if not (res.final[0] == np.where(target >= 0, target, res.final[0])).all():
            print(f"hard val {i}: the search fails too")
            continue
        fw = view.first_wrong(hop)
        hv = hop.records[fw["step"]].signals.get("hop_view")
        guessed = bool(hv is not None and hv[0][fw["position"]] == 0)
        events, last_doubt = [], None
        for e in res.events[0]:
            if "doubt" in e:
                last_doubt = e
                continue
            events.append({"undo": True, "why": e["undo"], "least": round(float(last_doubt["least"]), 3),
                           "where": where(e["cell"]), "from": tok(e["from"]), "to": tok(e["to"]),
                           "right": bool(e["to"] == target[e["cell"]])})
        facts = {"example": f"hard val {i}", "clues": 81 - ex["puzzle"].count("0"),
                 "view_hop_first_wrong": {"step": fw["step"], "where": where(fw["position"]), "digit": str(fw["digit"]),
                                          "guess": guessed},
                 "view_hop_wrong_cells": int((hop.final_canvas[0] != np.where(target >= 0, target,
                                                                              hop.final_canvas[0])).sum()),
                 "view_hop_forwards": int(sum(r.n_forward for r in hop.records)), "forwards": float(res.forwards[0]),
                 "least": round(float(np.exp(res.read_min[0])), 3), "events": events, "hard_val_puzzles_tried": i + 1}
        new = {"label": f"hard val {i}: view-hop guesses wrong; backtracking undoes it", "kind": KIND,
               "values": values, "run_preset": PRESET, "run_settings": settings_of(PRESET), "other_preset": "confidence",
               "branch_at": 0, "facts": facts, "explanation": explain(facts)}
        replace_story("sudoku", new)
        print(new["explanation"])
        return 0
    print(f"no hard val puzzle among the first {a.n} that view-hop loses and backtracking wins")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
