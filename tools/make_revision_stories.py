"""Revision stories for the explorer's Stories picker, from VALIDATION data only: for a model,
validation examples where confidence locks into a wrong commit, decoded by each revising policy
(RCR, ReMDM, BoE revise) at the same steps. Kept, per model:
- one where a revising policy takes back a wrong commit and the run ends solved ("revision
  repairs"), preferring a run that took back confidence's own first wrong commit;
- else, honestly, one where every revising policy still ends wrong ("revision does not repair").
The stories are appended to assets/examples/stories_<model>.json (a story of the same label is
replaced; make_stories.py rewrites the file, so run this after it).

    python tools/make_revision_stories.py --model sudoku --n 100 --steps 12
    python tools/make_revision_stories.py --model sudoku6 --n 40
    python tools/make_revision_stories.py --model reasoning --n 20
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from boe_core import load_model
from boe_core.lockin import view_judge
from boe_core.tasks.views import get_view
from make_stories import decode, story, validation_values  # its neighbour: the script's folder is on the path

ROOT = Path(__file__).resolve().parents[1]

REVISERS = ("RCR (running-confidence remasking)", "ReMDM · confidence (η=0.02)", "ReMDM · cap (η=0.02)",
            "BoE revise (θ=2, 2 per run)")


def remasks(tr) -> list[tuple[int, list[int]]]:
    return [(r.step, np.flatnonzero(r.remasked[0]).tolist()) for r in tr.records if r.remasked[0].any()]


def same_wrong_token(conf, fw, run) -> bool:
    """The revising run had committed confidence's wrong token at the root when it took it back."""
    root = fw.get("position")
    if root is None:
        return False
    wrong = int(conf.records[fw["step"]].canvas_after[0, root])
    return any(root in p and int(run.records[s].canvas_before[0, root]) == wrong for s, p in remasks(run))


def explain(conf_fw, preset, run, took_root: bool, solved: bool, same: bool = False) -> str:
    where = f" ({conf_fw['where']})" if conf_fw.get("where") else ""
    back = remasks(run)
    said = "; ".join(f"step {s}: {', '.join(map(str, p))}" for s, p in back[:4]) or "nothing"
    if solved:
        how = ("it commits the same wrong token there, takes it back, and the cell is written again right" if same
               else "it takes back the cell confidence gets wrong, and the run ends solved" if took_root
               else "its remasks change the later commits, and the run ends solved")
        return (f"Confidence commits a wrong token at step {conf_fw['step']}{where} and never takes it back. "
                f"{preset} takes back positions at {said}: {how}. Struck-through cells on the canvas show each "
                f"remask and the step the cell came back.")
    return (f"Confidence commits a wrong token at step {conf_fw['step']}{where}. {preset} takes back "
            f"positions at {said}, yet ends wrong too: revision does not repair this lock-in.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=60, help="validation examples to try (per task for reasoning models)")
    ap.add_argument("--steps-per", type=int, nargs="+", default=[2], help="tokens per step of the runs")
    ap.add_argument("--steps", type=int, default=None, help="decoding steps of every run (instead of --steps-per)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="default: assets/examples/stories_<model>.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    adapter = load_model(a.model)
    view = get_view(adapter.task)
    repaired, not_repaired = None, None
    conf_of = {}
    examples = validation_values(view, a.n, (1,) if a.steps else tuple(a.steps_per))
    if a.steps:
        examples = [{**v, "steps": a.steps, "id": f"{v['id']}, {a.steps} steps"} for v in examples]
    for values in examples:
        conf = decode(adapter, view, values, "confidence")
        conf_of[values["id"]] = conf
        cv = view_judge(conf)
        if cv["solved"] is not False:
            continue
        fw = view.first_wrong(conf) or {}
        outcomes = []
        for preset in REVISERS:
            run = decode(adapter, view, values, preset)
            rv = view_judge(run)
            root = fw.get("position")
            took_root = root is not None and any(root in p for _, p in remasks(run))
            outcomes.append((preset, run, bool(rv["solved"]), took_root))
            print(f"{values['id']}: {preset}: {'solved' if rv['solved'] else 'wrong'}"
                  f"{', took back the root' if took_root else ''}", flush=True)
        good = [o for o in outcomes if o[2]]
        if good and (repaired is None or (not repaired[4] and any(o[3] for o in good))):
            preset, run, _, took_root = max(good, key=lambda o: o[3])
            repaired = (values, fw, preset, run, took_root)
        if not good and not_repaired is None:
            not_repaired = (values, fw, outcomes[0][0], outcomes[0][1], False)
        if repaired is not None and repaired[4]:
            break
    stories = []
    for kind, pick, solved in (("revision-repairs", repaired, True), ("revision-does-not-repair", not_repaired, False)):
        if pick is None or (kind == "revision-does-not-repair" and repaired is not None):
            continue
        values, fw, preset, run, took_root = pick
        label = (f"{values['id']}: confidence locks in, {preset} takes it back" if solved
                 else f"{values['id']}: confidence locks in, revision does not repair it")
        same = same_wrong_token(conf_of[values["id"]], fw, run)
        facts = {"example": values["id"], "steps": run.num_steps, "confidence_first_wrong": fw,
                 "other_policy": preset, "other_solved": solved, "remasks": remasks(run),
                 "took_back_confidences_root": took_root, "same_wrong_token_taken_back": same}
        first = remasks(run)[0][0] if remasks(run) else 0
        stories.append(story(label, kind, values, preset, "confidence", first, facts,
                             explain(fw, preset, run, took_root, solved, same)))
    if not stories:
        print("no validation example where confidence locks in: nothing written")
        return 0
    out = Path(a.out or ROOT / "assets" / "examples" / f"stories_{Path(a.model).name}.json")
    data = json.loads(out.read_text()) if out.is_file() else {"model": a.model, "stories": []}
    keep = [s for s in data.get("stories", []) if s.get("kind", "").startswith("revision") is False]
    data["stories"] = keep + stories
    data["revision_made_by"] = "python tools/make_revision_stories.py " + " ".join(argv or sys.argv[1:])
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    for s in stories:
        print(f"wrote {s['label']!r} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
