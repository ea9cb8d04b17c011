"""Recipes `reasoning`, `sudoku6` and `bio`: the character-level reasoning TinyMDMs. `reasoning` is
one multi-task model for countdown, sudoku4 and arith-cot; `sudoku6` and `bio` train the model their
tasks name (--name), by default from another model's weights.

Data: generated on the fly from each task's seeded train stream (`boe_core.tasks.reasoning`); an
example whose prompt is in the val or test split is skipped. A batch holds one task, tasks in a
fixed weighted cycle. The prompt is never masked; the answer canvas (answer + [EOS] padding) is
masked at a stratified ratio t ~ U(eps, 1) per row, the d1 / LLaDA SFT objective.

Seeded and resumable: <run-dir>/ckpt.pt every --ckpt-minutes; `--resume` continues the schedule
(progress = training time / --minutes). Log: <run-dir>/train.log, with per-task val exact match
under confidence decoding (gen_length/2 steps) on --eval-n examples at each checkpoint.

  python -m boe_core.train reasoning --minutes 120                # train + export
  python -m boe_core.train reasoning --minutes 120 --resume       # continue
  python -m boe_core.train reasoning --export-only                # export <run-dir>/ckpt.pt
  python -m boe_core.train sudoku6 --minutes 85                   # from assets/models/reasoning
  python -m boe_core.train bio --init-from assets/models/bio --minutes 55 --lr 5e-4 --warmup 100
"""
from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from ... import paths
from ...errors import ConfigError
from ...models import training
from ...models.tiny_mdm import TinyMDM, TinyMDMConfig, block_states, mdm_loss, word_units
from ..config import OptimConfig, opt

DEFAULT_WEIGHTS = "arith-cot=3,countdown=2,sudoku4=1"


@dataclass
class ReasoningConfig(OptimConfig):
    """Train the multi-task reasoning TinyMDM (see boe_core/train/recipes/reasoning.py)."""
    run_dir: str = opt(None, "checkpoint and log folder (default: runs/<name>)")
    export: str = opt(None, "export folder (default: assets/models/<name>)")
    name: str = opt("reasoning", "the shipped model this trains; its config's task (the explorer's view)")
    tasks: list = opt(None, "tasks to train on (default: the tasks whose shipped model is --name)", nargs="+")
    init_from: str = opt(None, "start from this exported model's weights (same shape), fresh optimizer and schedule")
    minutes: float = opt(120.0, "training wall-time budget")
    steps: int = opt(None, "also stop at this step (progress: the larger of the step and time fractions)", type=int)
    max_length: int = opt(192)
    d_model: int = opt(192)
    n_layers: int = opt(6)
    n_heads: int = opt(6)
    batch: int = opt(64)
    task_weights: str = opt(None, f"batches of each task per cycle (default: {DEFAULT_WEIGHTS}, for the tasks trained)")
    threads: int = opt(1)
    device: str = opt("cpu")
    ckpt_minutes: float = opt(5.0)
    keep_ckpts: bool = opt(False, "also keep every checkpoint as <run-dir>/ckpt-<step>.pt (export one with --ckpt)")
    ckpt: str = opt(None, "with --export-only: the checkpoint file (default: <run-dir>/ckpt.pt)")
    eval_n: int = opt(40, "val examples per task at each checkpoint")
    eval_blocks: str = opt("one", "the checkpoint val decode: the answer as one block, or d1 blocks of <= 32",
                           choices=["one", "d1"])
    p_word: float = opt(0.0, "share of rows masked by whole words (runs of letters) instead of by character")
    p_block: float = opt(0.0, "share of rows in a d1 decode's state: earlier blocks visible, later ones masked")
    log_every: int = opt(25)
    resume: bool = opt(False, "continue from <run-dir>/ckpt.pt")
    rewarm: int = opt(0, "after --resume, ramp the learning rate up again over this many steps")
    export_only: bool = opt(False, "export <run-dir>/ckpt.pt (or --ckpt) and exit")


@dataclass
class Sudoku6Config(ReasoningConfig):
    """Train the 6x6 Sudoku TinyMDM from the reasoning model's weights."""
    name: str = opt("sudoku6", "the shipped model this trains; its config's task (the explorer's view)")
    init_from: str = opt("reasoning", "start from this exported model (a shipped name or a folder)")
    minutes: float = opt(85.0, "training wall-time budget")
    ckpt_minutes: float = opt(6.0)


@dataclass
class BioConfig(ReasoningConfig):
    """Train the biography-facts TinyMDM: whole-word and d1-block masking, d1 val decode."""
    name: str = opt("bio", "the shipped model this trains; its config's task (the explorer's view)")
    minutes: float = opt(55.0, "training wall-time budget")
    p_word: float = opt(0.5, "share of rows masked by whole words (runs of letters) instead of by character")
    p_block: float = opt(0.5, "share of rows in a d1 decode's state: earlier blocks visible, later ones masked")
    eval_blocks: str = opt("d1", "the checkpoint val decode: the answer as one block, or d1 blocks of <= 32",
                           choices=["one", "d1"])
    eval_n: int = opt(100, "val examples per task at each checkpoint")
    ckpt_minutes: float = opt(8.0)


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
            raise ConfigError("task_weights", part, f"must be TASK=N with TASK in {sorted(by_name)} and N >= 1")
        weights[name] = int(w)
    return [by_name[n] for n in weights for _ in range(weights[n])]


def val_exact_match(model, tok, tasks, n, device, blocks="one"):
    """Per-task val exact match under confidence decoding at gen_length/2 steps: the answer as one
    block, or (`blocks="d1"`) through the benchmark's own canvas, d1 blocks and checker."""
    from ...bench import make_task
    from ...models.tiny_adapter import TinyMDMAdapter
    from ...sampler import generate
    from ...tasks.reasoning import batch

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


def resolve_tasks(c: ReasoningConfig) -> list:
    """The tasks trained: --tasks, or every task whose shipped model is --name (sorted by name)."""
    from ...tasks.reasoning import all_tasks, get_task

    names = c.tasks or [t.name for t in all_tasks() if t.model == c.name]
    try:
        tasks = sorted((get_task(n) for n in names), key=lambda t: t.name)
    except KeyError as e:
        raise ConfigError("tasks", names, str(e)) from None
    if not tasks:
        raise ConfigError("name", c.name, "no task names it as its model; pass --tasks")
    return tasks


def _model_folder(ref: str) -> Path:
    """A shipped model's name or a folder."""
    p = Path(ref)
    return p if p.exists() or "/" in ref else paths.models_dir() / ref


def build_model(c: ReasoningConfig, tok, load_path: Path):
    """(model, checkpoint or None, init model or None): the architecture comes from the checkpoint
    (--resume / --export-only), from --init-from's model, or from the flags."""
    init = ck = None
    if c.init_from and not (c.resume or c.export_only):
        init = TinyMDM.from_pretrained(_model_folder(c.init_from))
        for k in ("max_length", "d_model", "n_layers", "n_heads"):
            setattr(c, k, getattr(init.config, k))
    if c.resume or c.export_only:
        if not load_path.is_file():
            raise ConfigError("resume", True, f"no checkpoint at {load_path}")
        ck = torch.load(load_path, map_location="cpu", weights_only=False)
        for k in ("max_length", "d_model", "n_layers", "n_heads"):
            setattr(c, k, ck["config"][k])
    torch.manual_seed(c.seed)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=c.max_length, d_model=c.d_model,
                        n_layers=c.n_layers, n_heads=c.n_heads, task=c.name, pos_encoding="rope")
    model = TinyMDM(cfg).to(c.device)
    if init is not None:
        model.load_state_dict(init.state_dict())
    return model, ck, init


def run(c: ReasoningConfig) -> None:
    from ...tasks.reasoning import batch, reasoning_tokenizer
    from ...tasks.reasoning_view import d1_block_length

    torch.set_num_threads(c.threads)
    c.run_dir = c.run_dir or str(paths.runs_dir() / c.name)
    run_dir = Path(c.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    if c.ckpt and not c.export_only:
        raise ConfigError("ckpt", c.ckpt, "only with --export-only (training always writes <run-dir>/ckpt.pt)")
    load_path = Path(c.ckpt) if c.ckpt else ckpt_path
    log = training.run_logger(run_dir)

    tok = reasoning_tokenizer()
    tasks = resolve_tasks(c)
    names = [t.name for t in tasks]
    c.export = c.export or str(paths.models_dir() / c.name)
    weights = c.task_weights
    if weights is None:
        weights = ",".join(p for p in DEFAULT_WEIGHTS.split(",") if p.split("=")[0] in names)
    cycle = task_cycle(tasks, weights)
    model, ck, init = build_model(c, tok, load_path)
    opt_ = training.make_optimizer(model, c.lr, c.weight_decay)
    gen = torch.Generator().manual_seed(c.seed)
    stream = Stream(tasks)
    is_letter = torch.tensor([len(ch) == 1 and ch.isalpha() for ch in map(tok.id_to_token, range(tok.vocab_size))])
    start = training.LoopState()
    if ck is not None:
        start = training.restore(ck, model, opt_, gen)
        stream.index.update(ck["stream_index"])  # a task added since the checkpoint starts at 0
    first_step = start.step

    def export():
        out = Path(c.export)
        copy.deepcopy(model).cpu().eval().save_pretrained(out)
        tok.save(out)
        log(f"exported to {out} ({(out / 'model.safetensors').stat().st_size / 1e6:.1f} MB weights)")

    if c.export_only:
        return export()

    def checkpoint(st):
        training.save_ckpt(ckpt_path, model, opt_, st.step, gen, st.elapsed, c, st.tokens_seen,
                           stream_index=dict(stream.index))
        if c.keep_ckpts:
            shutil.copyfile(ckpt_path, run_dir / f"ckpt-{st.step}.pt")

    def train_step(step):
        task = cycle[step % len(cycle)]
        ids, real, ans = batch(tok, task, stream.take(task, c.batch), with_answer=True)
        ids, real, ans = ids.to(c.device), real.to(c.device), ans.to(c.device)
        model.train()
        units = word_units(ids, is_letter, c.p_word, gen) if c.p_word > 0 else None
        maskable, always = ans, None
        block = d1_block_length(task.gen_length)
        if c.p_block > 0 and block is not None:
            maskable, always = block_states(ans, block, c.p_block, gen)
        loss, acc = mdm_loss(model, ids, tok.mask_id, gen, maskable=maskable, key_padding_mask=real, stratified=True,
                             units=units, always=always)
        training.optimizer_step(model, opt_, loss, c.grad_clip)
        return training.StepOut(loss.item(), {"acc": float(acc)}, int(real.sum()), task.name)

    def lr_fn(step, progress):
        lr = training.lr_at(c.lr, c.warmup, c.min_lr_frac, step, progress)
        return lr * min(1.0, (step - first_step + 1) / c.rewarm) if c.rewarm > 0 else lr

    log(f"{'resume at step %d' % start.step if ck else 'start'}{' from ' + str(c.init_from) if init is not None else ''}: "
        f"{model.num_parameters() / 1e6:.2f}M params, tasks {names}, "
        f"config {json.dumps(vars(model.config))}, args {json.dumps(vars(c))}")
    loop = training.TrainLoop(train_step, lr_fn, opt_, log, checkpoint,
                              evaluate=lambda: val_exact_match(model, tok, tasks, c.eval_n, c.device, c.eval_blocks),
                              minutes=c.minutes, max_steps=c.steps, log_every=c.log_every,
                              ckpt_minutes=c.ckpt_minutes, desc=c.name)
    loop.run(start)
    export()
