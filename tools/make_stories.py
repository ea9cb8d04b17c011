"""Pick teaching stories for the explorer's "Stories" picker, from VALIDATION data only.

For a model, decode validation examples with confidence and with other policies (BoE default,
lookahead, margin ...) and keep:
- several where confidence locks into an error that another policy avoids;
- one where BoE errs and confidence does not.
- for a task whose checker labels cascades (`bio`): examples where confidence commits a wrong fact
  (the root) and later commits text that follows from it (the cascade); the story runs confidence,
  so the canvas shows both.
Each story gets an explanation written from the measured facts (steps, the first wrong commit,
the other policy's outcome, the first step where the two runs differ) and is written to
assets/examples/stories_<model>.json.

Text models have no checker: a text story uses the lock-in map's text distance (how far handing the
BoE run to confidence moves the output) and is kept only when the texts are not degenerate; when
nothing meaningful comes out, the script says so and writes no story.

    python tools/make_stories.py --model sudoku --n 60 --threads 1
    python tools/make_stories.py --model /tmp/reasoning-export --n 6 --out /tmp/stories_reasoning.json
    python tools/make_stories.py --model kjv --n 4
    python tools/make_stories.py --model sudoku6 --n 20 --per-step 4 8
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from app.session import preset_overrides
from boe_core import DecodeConfig, diff, generate, load_model
from boe_core.lockin import lockin_map, view_judge
from boe_core.tasks.views import commit_steps, get_view

ROOT = Path(__file__).resolve().parents[1]
OTHERS = ("BoE default", "BoE · threshold gate (τ_c=0.9)", "BoE · additive gate (β=0.5)",
          "BoE · linearise at the midpoint (α=0.5)", "BoE · quadrature linearisation (k=3)",
          "lookahead gated (threshold)", "lookahead (exact, slow)", "margin", "entropy")  # tried in this order
N_LOCKIN = 4  # stories where confidence locks in
MIN_DISTINCT = 0.3  # a text output with fewer distinct tokens per position is degenerate


def validation_values(view, n: int, per_step=(1, 2), corpus: str = "kjv") -> list[dict]:
    """Run inputs of the first n validation examples of the model's task (never test data);
    reasoning tasks at each of `per_step` tokens per step, in that order; text: the first 6 words
    of `corpus`'s val rows (`boe_core.tasks.english`)."""
    if view.name == "sudoku":
        rows = [json.loads(line) for line in (ROOT / "assets/data/sudoku/heldout_val.jsonl").read_text().splitlines()
                if line.strip()]
        # one commit per step first, then two (faster decodes lock in more often)
        return [{"puzzle": r["puzzle"], "steps": -(-r["puzzle"].count("0") // per), "id": f"val {i}" + tag}
                for per, tag in ((1, ""), (2, ", 2 per step")) for i, r in enumerate(rows[:n])]
    if hasattr(view, "task_names"):  # reasoning views: n per task, round robin
        from boe_core.tasks.reasoning import get_task

        per = [[(t, e, i) for i, e in enumerate(t.split("val", n))] for t in map(get_task, view.task_names)]
        out = []
        for k in per_step:
            tag = "" if k == 1 else f", {k} per step"
            for group in zip(*per):
                for t, e, i in group:
                    out.append({"prompt": t.tag + e.prompt, "steps": -(-t.gen_length // k), "id": f"{t.name} val {i}{tag}"})
        return out
    from boe_core.tasks.english import load_texts

    return [{"prompt": " ".join(t.split()[:6]), "gen_length": 16, "steps": 16, "id": f"{corpus} val {i}"}
            for i, t in enumerate(load_texts(corpus, "val")[:n])]


def decode(adapter, view, values: dict, preset: str):
    policy, knobs = preset_overrides(preset)
    plan = view.build_canvas(adapter, values)
    cfg = DecodeConfig(policy=policy, steps=int(values["steps"]), settings=knobs).validate()
    return generate(adapter, canvas=plan.ids, attention_mask=plan.attention_mask, config=cfg, meta=plan.meta)


def _steps(tr) -> int:
    return tr.num_steps


def lockin_facts(adapter, run) -> dict:
    """Hand `run` to confidence at every step (the lock-in map): which hand-overs end solved."""
    m = lockin_map(adapter, run, policy="confidence")
    ok = [p.step for p in m.points if p.solved]
    bad = [p.step for p in m.points if p.solved is False]
    return {"handover_solved_steps": ok, "handover_wrong_steps": bad, "rollouts": m.rollouts,
            "lockin_seconds": round(m.seconds, 2)}


def _where(fw) -> str:
    return f" ({fw['where']})" if fw and fw.get("where") else ""


def explain_lockin(conf, other, preset, fw, lk) -> str:
    bad, T = lk["handover_wrong_steps"], other.num_steps
    text = (f"Confidence alone commits its first wrong token at step {fw.get('step', '?')}{_where(fw)} of "
            f"{conf.num_steps} and never takes it back: every later commit is conditioned on it. {preset} solves the "
            f"same problem. ")
    if bad:
        k = max(bad)
        text += (f"The lock-in map of {preset}'s run shows when the error is avoided: handing the rest to confidence "
                 f"ends wrong from {len(bad)} of {T} steps, the last at step {k}; from step {k + 1} on, confidence "
                 f"finishes it correctly. Compare branches confidence at step {k}.")
    else:
        text += "Handed to confidence at any step of its run, it still ends solved: the error is confidence's early order."
    return text


def explain_boe_errs(boe, fw, lk) -> str:
    ok, T = lk["handover_solved_steps"], boe.num_steps
    text = (f"Here BoE is the one that errs: its first wrong commit is at step {fw.get('step', '?')}{_where(fw)} of "
            f"{T}, while confidence alone solves the problem. BoE's first-order estimate of the entropy drop is only an "
            f"estimate: it can rank a wrong commit first. ")
    if ok:
        text += (f"The lock-in map shows confidence can still rescue BoE's run when handed over up to step {max(ok)} "
                 f"({len(ok)} of {T} steps); Compare branches confidence there.")
    else:
        text += "Handed to confidence at any step, the run still ends wrong."
    return text


def cascade_facts(view, trace) -> dict | None:
    """The final answer's wrong spans by kind (root, cascade), each with its text and first and last
    commit step; None unless the view labels cascades and a cascade span is committed after the
    first root span."""
    if "cascade" not in view.error_kinds:
        return None
    errs, when = view.errors(trace, trace.num_steps - 1), commit_steps(trace)
    a0 = view._answer_start(trace)

    def spans(kind):
        out = []
        for p in sorted(errs[kind]):
            if out and p == out[-1][-1] + 1:
                out[-1].append(p)
            else:
                out.append([p])
        return [{"text": "".join(trace.id_to_token.get(int(trace.final_canvas[0, p]), "?") for p in ps),
                 "answer_chars": [ps[0] - a0 + 1, ps[-1] - a0 + 1],
                 "steps": [int(min(when[p] for p in ps)), int(max(when[p] for p in ps))]} for ps in out]

    roots, cascades = spans("root"), spans("cascade")
    if not roots or not any(c["steps"][0] > roots[0]["steps"][0] for c in cascades):
        return None
    return {"roots": roots, "cascades": cascades}


def explain_cascade(conf, cf, other, other_preset) -> str:
    r = cf["roots"][0]
    after = [c for c in cf["cascades"] if c["steps"][0] > r["steps"][0]]
    before = [c for c in cf["cascades"] if c["steps"][0] <= r["steps"][0]]

    def listed(cs):
        return ", ".join(f"{c['text']!r} (step{_span(c['steps'])})" for c in cs)

    text = (f"Confidence commits a wrong fact, {r['text']!r}, at step{_span(r['steps'])} of {conf.num_steps}: the "
            f"root (marked solid red). Later text follows from it: {listed(after)}, the cascade (marked "
            f"orange): wrong, but what the world's rules give for the wrong fact before it. ")
    if before:
        # the checker reads the sentence's order; the run may have written a consequence first
        text += (f"{listed(before)} (also orange) came earlier in the run than the root: in commit order the "
                 f"lock-in began there, and the root was then written to fit it. ")
    if len(cf["roots"]) > 1:
        text += "Other roots: " + ", ".join(repr(x["text"]) for x in cf["roots"][1:]) + ". "
    text += (f"{other_preset} solves the same question." if other is not None else
             f"{other_preset} does not solve it either: the model does not hold this person's facts firmly.")
    return text


def _span(steps) -> str:
    return f" {steps[0]}" if steps[0] == steps[1] else f"s {steps[0]}–{steps[1]}"


def cascade_stories(adapter, view, examples, n_stories: int, log) -> list[dict]:
    """Examples where confidence commits a root and then its cascade; the story runs confidence and
    hands over to the first other policy that solves the question (BoE default when none does)."""
    out = []
    for values in examples:
        if len(out) >= n_stories:
            break
        conf = decode(adapter, view, values, "confidence")
        if view_judge(conf)["solved"] is not False:
            continue
        cf = cascade_facts(view, conf)
        if cf is None:
            log(f"{values['id']}: confidence wrong, no cascade after its root")
            continue
        other, other_preset = None, "BoE default"
        for preset in OTHERS:
            run = decode(adapter, view, values, preset)
            if view_judge(run)["solved"]:
                other, other_preset = run, preset
                break
        log(f"{values['id']}: root {cf['roots'][0]['text']!r} then cascade "
            f"{[c['text'] for c in cf['cascades']]}; {other_preset} {'solves it' if other is not None else 'errs too'}")
        facts = {"example": values["id"], "steps": conf.num_steps, "confidence_first_wrong": view.first_wrong(conf),
                 **cf, "other_policy": other_preset, "other_solved": other is not None}
        out.append(story(f"{values['id']}: confidence commits a wrong fact, later text follows it", "confidence-cascade",
                         values, "confidence", other_preset, cf["roots"][0]["steps"][0], facts,
                         explain_cascade(conf, cf, other, other_preset)))
    return out


def settings_of(preset: str) -> dict:
    """The policy and knobs a preset means today (stored: the facts hold for these, whatever the
    defaults become)."""
    policy, knobs = preset_overrides(preset)
    return {"policy": policy, **knobs}


def replace_story(model: str, new: dict) -> Path:
    """Put `new` into assets/examples/stories_<model>.json in place of any story of its kind; the
    other stories are kept (the one-story tools: planner, view-hop, backtracking)."""
    path = ROOT / "assets" / "examples" / f"stories_{model}.json"
    doc = json.loads(path.read_text())
    doc["stories"] = [s for s in doc["stories"] if s.get("kind") != new["kind"]] + [new]
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return path


def hard_val_sudoku(n: int):
    """The shipped `sudoku` model's adapter, task view and task, a token-to-text function, and the
    first n hard val puzzles as (index, example, explorer values) (the one-story tools' start)."""
    from boe_core import load_model
    from boe_core.bench.tasks import make_task
    from boe_core.tasks.views import get_view

    adapter = load_model("sudoku")
    view, task = get_view("sudoku"), make_task("sudoku")
    tok = lambda t: adapter.tokenizer.id_to_token(int(t))  # noqa: E731
    puzzles = [(i, ex, {"puzzle": ex["puzzle"], "steps": ex["puzzle"].count("0")})
               for i, ex in enumerate(task.load("hard_val", n))]
    return adapter, view, task, tok, puzzles


def story(label, kind, values, run_preset, other_preset, branch_at, facts, explanation) -> dict:
    return {"label": label, "kind": kind, "values": {k: v for k, v in values.items() if k != "id"},
            "run_preset": run_preset, "run_settings": settings_of(run_preset), "other_preset": other_preset,
            "branch_at": int(branch_at or 0), "facts": facts, "explanation": explanation}


def checked_stories(adapter, view, examples, n_lockin: int, log) -> list[dict]:
    out, boe_errs = [], None
    for values in examples:
        if len(out) >= n_lockin and boe_errs is not None:
            break
        conf = decode(adapter, view, values, "confidence")
        cv = view_judge(conf)
        if cv["solved"] is None:
            continue
        if not cv["solved"] and len(out) < n_lockin:
            for preset in OTHERS:
                other = decode(adapter, view, values, preset)
                ov = view_judge(other)
                log(f"{values['id']}: confidence wrong at step {cv['first_wrong_step']}; {preset}: "
                    f"{'solved' if ov['solved'] else 'wrong'}")
                if ov["solved"]:
                    fw, lk = view.first_wrong(conf), lockin_facts(adapter, other)
                    log(f"  lock-in map of {preset}'s run: wrong hand-overs {lk['handover_wrong_steps']}")
                    facts = {"example": values["id"], "steps": conf.num_steps, "confidence_first_wrong": fw,
                             "other_policy": preset, "other_solved": True,
                             "first_divergent_step": diff(conf, other).first_divergent_step, **lk}
                    at = max(lk["handover_wrong_steps"], default=0)
                    out.append(story(f"{values['id']}: confidence locks in, {preset} avoids it",
                                     "confidence-locks-in", values, preset, "confidence", at, facts,
                                     explain_lockin(conf, other, preset, fw, lk)))
                    break
        elif cv["solved"] and boe_errs is None:
            boe = decode(adapter, view, values, "BoE default")
            bv = view_judge(boe)
            if not bv["solved"]:
                fw, lk = view.first_wrong(boe), lockin_facts(adapter, boe)
                log(f"{values['id']}: BoE wrong at step {bv['first_wrong_step']}, confidence solved; "
                    f"rescued from {lk['handover_solved_steps']}")
                facts = {"example": values["id"], "steps": boe.num_steps, "boe_first_wrong": fw,
                         "other_policy": "confidence", "other_solved": True,
                         "first_divergent_step": diff(boe, conf).first_divergent_step, **lk}
                boe_errs = story(f"{values['id']}: BoE errs, confidence does not", "boe-errs", values,
                                 "BoE default", "confidence", max(lk["handover_solved_steps"], default=0), facts,
                                 explain_boe_errs(boe, fw, lk))
    if boe_errs is None:
        log("no example where BoE errs and confidence does not (try a larger --n)")
    return out + ([boe_errs] if boe_errs else [])


def text_stories(adapter, view, examples, log) -> tuple[list[dict], str]:
    """Text: hand the BoE run to confidence at every step (the lock-in map) and keep an example only
    when the outputs are not degenerate and the hand-overs really move the text."""
    out = []
    for values in examples:
        run = decode(adapter, view, values, "BoE default")
        m = lockin_map(adapter, run, policy="confidence")
        n = run.records[0].masked[0].sum()
        tokens = run.final_canvas[0][run.records[0].masked[0]]
        distinct = len(set(tokens.tolist())) / max(1, int(n))
        far = max(m.points, key=lambda p: p.distance)
        log(f"{values['id']}: distinct tokens {distinct:.2f}, largest hand-over distance {far.distance}/{int(n)} "
            f"at step {far.step}; {m.rollouts} rollouts")
        if distinct < MIN_DISTINCT or far.distance < max(2, int(0.25 * n)):
            continue
        facts = {"example": values["id"], "steps": run.num_steps, "handover_step": far.step,
                 "distance": far.distance, "positions": int(n), "run_text": view.canvas_text(run, run.num_steps - 1),
                 "handover_text": far.text}
        expl = (f"Handing BoE's run to confidence at step {far.step} changes {far.distance} of {int(n)} generated "
                f"tokens: confidence's continuation is {far.text!r} instead of "
                f"{facts['run_text']!r}. Open the Lock-in tab and click step {far.step}.")
        out.append(story(f"{values['id']}: where confidence takes the text elsewhere", "text-lockin", values,
                         "BoE default", "confidence", far.step, facts, expl))
    why = "" if out else ("no meaningful text story: the model's outputs are degenerate (frequent-token collapse) "
                          "or handing over to confidence barely changes them")
    return out, why


def repeated_phrase(tokens: list[int], n: int = 3) -> tuple[int, list[int]] | None:
    """The first token n-gram of `tokens` that occurs again later: (its first index, the start of
    every non-overlapping occurrence), or None."""
    for i in range(len(tokens) - n + 1):
        gram, starts, j = tokens[i:i + n], [i], i + n
        while j <= len(tokens) - n:
            if tokens[j:j + n] == gram:
                starts.append(j)
                j += n
            else:
                j += 1
        if len(starts) > 1:
            return i, starts
    return None


def collapse_stories(adapter, view, examples, log, n_stories: int = 2) -> tuple[list[dict], str]:
    """Text, when BoE commits what confidence does (so the lock-in map of its run is empty):
    examples where confidence commits a phrase early that the continuation then repeats (at least
    three times). The story runs confidence; the first other preset whose text differs is the
    branch to compare."""
    out = []
    for values in examples:
        if len(out) >= n_stories:
            break
        conf = decode(adapter, view, values, "confidence")
        gen = np.flatnonzero(conf.records[0].masked[0])
        tokens = [int(t) for t in conf.final_canvas[0][gen]]
        rep = repeated_phrase(tokens)
        if rep is None or len(rep[1]) < 3:
            log(f"{values['id']}: no phrase repeated three times")
            continue
        when = commit_steps(conf)
        first = int(min(when[gen[s + k]] for s in rep[1] for k in range(3)))
        phrase = adapter.decode(tokens[rep[0]:rep[0] + 3]).strip()
        if first >= conf.num_steps // 3:
            log(f"{values['id']}: {phrase!r} x{len(rep[1])}, first committed late (step {first})")
            continue
        other, other_preset = None, None
        for preset in OTHERS + ("random",):
            run = decode(adapter, view, values, preset)
            if not np.array_equal(run.final_canvas, conf.final_canvas):
                other, other_preset = run, preset
                break
        def text(run):  # the tokenizer's own decode: a WordPiece model's pieces need its spacing rules
            return f"{values['prompt']} | {adapter.decode([int(t) for t in run.final_canvas[0][gen]])}"
        conf_text = text(conf)
        other_text = text(other) if other is not None else None
        log(f"{values['id']}: {phrase!r} x{len(rep[1])} from step {first}; {other_preset}: {other_text!r}")
        facts = {"example": values["id"], "steps": conf.num_steps, "phrase": phrase, "repeats": len(rep[1]),
                 "first_commit_step": first, "run_text": conf_text, "other_policy": other_preset,
                 "other_text": other_text,
                 "first_divergent_step": diff(conf, other).first_divergent_step if other is not None else None}
        expl = (f"Confidence commits part of {phrase!r} at step {first} of {conf.num_steps}, before most of the "
                f"continuation exists; every later commit conditions on it, and the phrase ends up "
                f"{len(rep[1])} times: {conf_text!r}. ")
        expl += (f"{other_preset} commits in another order and writes {other_text!r} (the runs part at step "
                 f"{facts['first_divergent_step']}). Compare branches {other_preset} at step {first}."
                 if other is not None else "Every other preset writes the same text.")
        out.append(story(f"{values['id']}: confidence commits a phrase early, then repeats it", "confidence-collapse",
                         values, "confidence", other_preset or "confidence", first, facts, expl))
    why = "" if out else "no validation example where confidence commits an early phrase that it then repeats"
    return out, why


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="a shipped model name or a model folder")
    ap.add_argument("--n", type=int, default=60, help="validation examples to try (per task for reasoning models)")
    ap.add_argument("--stories", type=int, default=N_LOCKIN, help="confidence-locks-in stories to keep")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--per-step", type=int, nargs="+", default=[1, 2],
                    help="reasoning models: tokens per step to decode at, in this order (one block)")
    ap.add_argument("--corpus", default="kjv", choices=["kjv", "austen"], help="text models: whose val prompts")
    ap.add_argument("--out", default=None, help="default: assets/examples/stories_<model>.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, a.threads))
    t0 = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", flush=True)

    adapter = load_model(a.model)
    view = get_view(getattr(adapter, "task", "text"))
    name = Path(a.model).name
    examples = validation_values(view, a.n, tuple(a.per_step), a.corpus)
    log(f"model {a.model!r} (view {view.name}): {len(examples)} validation examples")
    probe = decode(adapter, view, examples[0], "confidence")
    if "cascade" in view.error_kinds:
        stories = cascade_stories(adapter, view, examples, a.stories, log)
        why = "" if stories else "no validation example where confidence's error has a cascade (try a larger --n)"
    elif view.can_check(probe):
        stories, why = checked_stories(adapter, view, examples, a.stories, log), ""
    else:
        stories, why = text_stories(adapter, view, examples, log)
        if not stories:  # BoE == confidence here: show confidence's own collapse instead
            stories, why = collapse_stories(adapter, view, examples, log, a.stories)
    if why:
        print(why)
    out = Path(a.out) if a.out else ROOT / "assets" / "examples" / f"stories_{name}.json"
    doc = {"model": name, "task": view.name, "split": "validation",
           "made_by": "python tools/make_stories.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "note": why, "stories": stories}
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    log(f"wrote {len(stories)} stories to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
