#!/usr/bin/env python
"""Train a shipped reasoning TinyMDM: `reasoning`, one multi-task model for countdown, sudoku4 and
arith-cot, or `sudoku6` (each task names the shipped model that solves it; `--name`).

Data: generated on the fly from each task's seeded train stream (`boe_core.tasks.reasoning`); any
example whose prompt is in the val or test split is skipped. A batch holds one task (so rows have
similar lengths), tasks in turn. The prompt is never masked; the answer canvas (answer + [EOS]
padding) is masked at a stratified ratio t ~ U(eps, 1) per row, the d1 / LLaDA SFT objective.

Model: TinyMDM with rotary positions (see boe_core.models.tiny_mdm), characters as tokens.

Seeded and resumable: <run-dir>/ckpt.pt every --ckpt-minutes; `--resume` continues the schedule
(time-based: progress = training time / --minutes). Log: <run-dir>/train.log, with per-task val
exact match under confidence decoding (gen_length/2 steps) on --eval-n examples at each checkpoint.

  python scripts/train_reasoning.py --minutes 120                  # train + export
  python scripts/train_reasoning.py --minutes 120 --resume         # continue
  python scripts/train_reasoning.py --export-only                  # export <run-dir>/ckpt.pt
  python scripts/train_reasoning.py --name sudoku6 --init-from assets/models/reasoning --minutes 85
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path

import torch

from boe_core.models import training
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig, block_states, mdm_loss, word_units
from boe_core.tasks.reasoning import all_tasks, batch, get_task, reasoning_tokenizer
from boe_core.tasks.reasoning_view import d1_block_length

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = "arith-cot=3,countdown=2,sudoku4=1"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", default=None, help="checkpoint and log folder (default: runs/<name>)")
    ap.add_argument("--export", default=None, help="export folder (default: assets/models/<name>)")
    ap.add_argument("--name", default="reasoning",
                    help="the shipped model this trains; its config's task, so the explorer picks the view of that name")
    ap.add_argument("--tasks", nargs="+", default=None,
                    help="tasks to train on (default: the tasks whose shipped model is --name)")
    ap.add_argument("--init-from", default=None,
                    help="start from this exported model's weights (same shape), with a fresh optimizer and schedule")
    ap.add_argument("--minutes", type=float, default=120.0, help="training wall-time budget")
    ap.add_argument("--max-length", type=int, default=192)
    ap.add_argument("--d-model", type=int, default=192)
    ap.add_argument("--n-layers", type=int, default=6)
    ap.add_argument("--n-heads", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--task-weights", default=None,
                    help=f"batches of each task per cycle (default: {DEFAULT_WEIGHTS}, for the tasks trained; "
                         "the hard, long tasks get more steps)")
    training.add_optimizer_args(ap)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--keep-ckpts", action="store_true",
                    help="also keep a copy of every checkpoint as <run-dir>/ckpt-<step>.pt, so that one chosen "
                         "on val later can be exported (`--export-only --ckpt`)")
    ap.add_argument("--ckpt", default=None, help="with --export-only: the checkpoint file (default: <run-dir>/ckpt.pt)")
    ap.add_argument("--eval-n", type=int, default=40, help="val examples per task at each checkpoint")
    ap.add_argument("--eval-blocks", default="one", choices=["one", "d1"],
                    help="the checkpoint val decode: the whole answer as one block, or d1 blocks of <= 32 "
                         "(the benchmark's protocol)")
    ap.add_argument("--p-word", type=float, default=0.0,
                    help="share of rows masked by whole words (runs of letters) instead of by character; "
                         "a fact then has to be recalled, not spelled from its visible letters (bio)")
    ap.add_argument("--p-block", type=float, default=0.0,
                    help="share of rows in a d1 decode's state: earlier blocks visible, later blocks all masked, "
                         "the current block at ratio t (for tasks decoded in more than one d1 block)")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--rewarm", type=int, default=0,
                    help="after --resume, ramp the learning rate up again over this many steps. Adam's "
                         "second moments fit a converged model's small gradients, so a new task's first, "
                         "large gradients would otherwise take steps several times lr")
    ap.add_argument("--export-only", action="store_true")
    return ap.parse_args(argv)


class Stream:
    """Each task's train examples in index order, skipping held-out prompts; resumable by index."""

    def __init__(self, tasks):
        self.tasks = tasks
        self.held = {t.name: t.held_out_prompts() for t in tasks}
        self.index = {t.name: 0 for t in tasks}

    def take(self, task, n):
        out = []
        while len(out) < n:
            ex = task.example("train", self.index[task.name])
            self.index[task.name] += 1
            if ex.prompt not in self.held[task.name]:
                out.append(ex)
        return out


def task_cycle(tasks, spec: str):
    """'arith-cot=3,countdown=2' -> [arith, arith, arith, countdown, countdown, sudoku4]; unnamed
    tasks get weight 1. A deterministic cycle (indexed by step), so a resumed run continues it."""
    by_name = {t.name: t for t in tasks}
    weights = {t.name: 1 for t in tasks}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, w = part.partition("=")
        if name not in by_name or not w.isdigit() or int(w) < 1:
            raise SystemExit(f"--task-weights: {part!r} must be TASK=N with TASK in {sorted(by_name)} and N >= 1")
        weights[name] = int(w)
    return [by_name[n] for n in weights for _ in range(weights[n])]


def val_exact_match(model, tok, tasks, n, device, blocks="one"):
    """Per-task val exact match under confidence decoding at gen_length/2 steps (2 per step): the
    answer as one block, or (`blocks="d1"`) through the benchmark's own canvas, d1 blocks and checker."""
    from boe_core import generate
    from boe_core.bench import make_task
    from boe_core.models.tiny_adapter import TinyMDMAdapter

    adapter = TinyMDMAdapter(copy.deepcopy(model).eval(), tok, name="reasoning-train", device=device)
    out = {}
    for t in tasks:
        if blocks == "d1":
            view = make_task(t.name)  # its default block length is the d1 one
            exs = view.load("val", n)
            ids, am = view.canvas(adapter, exs)
            final = generate(adapter, canvas=ids, attention_mask=am, policy="confidence",
                             steps=t.gen_length // 2, block_length=view.block_length).final_canvas
            ok = [s["exact_match"] for s in view.score(adapter, exs, final)]
        else:
            exs = t.split("val", n)
            ids, real, _ = batch(tok, t, exs, with_answer=False)
            final = generate(adapter, canvas=ids.to(device), attention_mask=real.to(device), policy="confidence",
                             steps=t.gen_length // 2).final_canvas
            a0 = [len(tok.encode(t.prompt_text(e))) for e in exs]
            ok = [t.check(e, t.decode_answer(tok, final[k, a0[k]:a0[k] + t.gen_length])).correct
                  for k, e in enumerate(exs)]
        out[t.name] = round(sum(ok) / len(ok), 3)
    return out


def resolve_tasks(args) -> list:
    """The tasks trained: --tasks, or every task whose shipped model is --name (sorted by name)."""
    names = args.tasks or [t.name for t in all_tasks() if t.model == args.name]
    try:
        tasks = sorted((get_task(n) for n in names), key=lambda t: t.name)
    except KeyError as e:
        raise SystemExit(f"--tasks: {e}") from None
    if not tasks:
        raise SystemExit(f"--name {args.name!r}: no task names it as its model; pass --tasks")
    return tasks


def build_model(args, tok, load_path: Path):
    """(model, checkpoint or None, init model or None): the architecture comes from the checkpoint
    (--resume / --export-only), from --init-from's model, or from the flags."""
    init = ck = None
    if args.init_from and not (args.resume or args.export_only):
        init = TinyMDM.from_pretrained(args.init_from)
        for k in ("max_length", "d_model", "n_layers", "n_heads"):
            setattr(args, k, getattr(init.config, k))
    if args.resume or args.export_only:
        if not load_path.is_file():
            raise SystemExit(f"--resume/--export-only: no checkpoint at {load_path}")
        ck = torch.load(load_path, map_location="cpu", weights_only=False)
        for k in ("max_length", "d_model", "n_layers", "n_heads"):
            setattr(args, k, ck["config"][k])
    torch.manual_seed(args.seed)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=args.max_length, d_model=args.d_model,
                        n_layers=args.n_layers, n_heads=args.n_heads, task=args.name, pos_encoding="rope")
    model = TinyMDM(cfg).to(args.device)
    if init is not None:
        model.load_state_dict(init.state_dict())
    return model, ck, init


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.run_dir = args.run_dir or str(ROOT / "runs" / args.name)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    if args.ckpt and not args.export_only:
        raise SystemExit("--ckpt: only with --export-only (training always writes <run-dir>/ckpt.pt)")
    load_path = Path(args.ckpt) if args.ckpt else ckpt_path
    log = training.run_logger(run_dir)

    tok = reasoning_tokenizer()
    tasks = resolve_tasks(args)
    names = [t.name for t in tasks]
    args.export = args.export or str(ROOT / "assets/models" / args.name)
    weights = args.task_weights
    if weights is None:
        weights = ",".join(p for p in DEFAULT_WEIGHTS.split(",") if p.split("=")[0] in names)
    cycle = task_cycle(tasks, weights)
    model, ck, init = build_model(args, tok, load_path)
    cfg = model.config
    opt = training.make_optimizer(model, args.lr, args.weight_decay)
    gen = torch.Generator().manual_seed(args.seed)
    stream = Stream(tasks)
    is_letter = torch.tensor([len(c) == 1 and c.isalpha() for c in map(tok.id_to_token, range(tok.vocab_size))])
    start = training.LoopState()
    if ck is not None:
        start = training.restore(ck, model, opt, gen)
        stream.index.update(ck["stream_index"])  # a task added since the checkpoint starts at 0
    first_step = start.step

    def export():
        out = Path(args.export)
        m = copy.deepcopy(model).cpu().eval()
        m.save_pretrained(out)
        tok.save(out)
        log(f"exported to {out} ({(out / 'model.safetensors').stat().st_size / 1e6:.1f} MB weights)")

    if args.export_only:
        export()
        return

    def checkpoint(st):
        training.save_ckpt(ckpt_path, model, opt, st.step, gen, st.elapsed, args, st.tokens_seen,
                           stream_index=dict(stream.index))
        if args.keep_ckpts:
            shutil.copyfile(ckpt_path, run_dir / f"ckpt-{st.step}.pt")

    def train_step(step):
        task = cycle[step % len(cycle)]
        ids, real, ans = batch(tok, task, stream.take(task, args.batch), with_answer=True)
        ids, real, ans = ids.to(args.device), real.to(args.device), ans.to(args.device)
        model.train()
        units = word_units(ids, is_letter, args.p_word, gen) if args.p_word > 0 else None
        maskable, always = ans, None
        block = d1_block_length(task.gen_length)
        if args.p_block > 0 and block is not None:
            maskable, always = block_states(ans, block, args.p_block, gen)
        loss, acc = mdm_loss(model, ids, tok.mask_id, gen, maskable=maskable, key_padding_mask=real, stratified=True,
                             units=units, always=always)
        training.optimizer_step(model, opt, loss, args.grad_clip)
        return training.StepOut(loss.item(), {"acc": float(acc)}, int(real.sum()), task.name)

    def lr_fn(step, progress):
        lr = training.lr_at(args.lr, args.warmup, args.min_lr_frac, step, progress)
        return lr * min(1.0, (step - first_step + 1) / args.rewarm) if args.rewarm > 0 else lr

    log(f"{'resume at step %d' % start.step if ck else 'start'}{' from ' + args.init_from if init is not None else ''}: "
        f"{model.num_parameters() / 1e6:.2f}M params, tasks {[t.name for t in tasks]}, "
        f"config {json.dumps(vars(cfg))}, args {json.dumps(vars(args))}")
    loop = training.TrainLoop(train_step, lr_fn, opt, log, checkpoint,
                              evaluate=lambda: val_exact_match(model, tok, tasks, args.eval_n, args.device, args.eval_blocks),
                              minutes=args.minutes, log_every=args.log_every, ckpt_minutes=args.ckpt_minutes,
                              desc="reasoning")
    loop.run(start)
    export()


if __name__ == "__main__":
    main()
