"""Pieces shared by the training scripts: the learning-rate schedule, AdamW groups, checkpoints,
the log, and the one resumable training loop (`TrainLoop`)."""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch


def add_optimizer_args(ap, lr=1e-3, min_lr_frac=0.1, warmup=200, weight_decay=0.1, grad_clip=1.0):
    """The optimiser and schedule flags every training script shares."""
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--min-lr-frac", type=float, default=min_lr_frac, help="cosine decay floor, a fraction of --lr")
    ap.add_argument("--warmup", type=int, default=warmup, help="linear warm-up steps")
    ap.add_argument("--weight-decay", type=float, default=weight_decay)
    ap.add_argument("--grad-clip", type=float, default=grad_clip)
    ap.add_argument("--seed", type=int, default=0)


def lr_at(lr: float, warmup: int, min_lr_frac: float, step: int, progress: float) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to `min_lr_frac * lr` at progress 1."""
    if step < warmup:
        return lr * (step + 1) / warmup
    p = min(max(progress, 0.0), 1.0)
    return lr * (min_lr_frac + (1 - min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def make_optimizer(model, lr: float, weight_decay: float):
    """AdamW; matrices decay, biases, norms and position tables do not."""
    def decays(n, p):
        return p.dim() >= 2 and "pos_emb" not in n

    decay = [p for n, p in model.named_parameters() if decays(n, p)]
    no_decay = [p for n, p in model.named_parameters() if not decays(n, p)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def save_ckpt(path: Path, model, opt, step, gen, elapsed, args, tokens_seen, **extra):
    """Atomic checkpoint: model, optimizer, step, RNG states and elapsed training time."""
    tmp = Path(path).with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "elapsed": elapsed,
                "tokens_seen": tokens_seen, "config": vars(model.config), "args": vars(args), **extra}, tmp)
    os.replace(tmp, path)


def save_rollout_ckpt(path: Path, weights: dict, opt, gen, rng, step: int, seconds: float, args: dict, **extra):
    """Atomic checkpoint of a recipe that trains on its own rollouts (sudoku-selfplay,
    sudoku-planner): each of `weights` ({key: module}) under its key, the optimiser, the torch and
    Python generators (`gen`, `rng`, which draw its puzzles), step and training seconds."""
    tmp = Path(path).with_suffix(".tmp")
    torch.save({**{k: m.state_dict() for k, m in weights.items()}, "opt": opt.state_dict(), "gen": gen.get_state(),
                "py_rng": rng.getstate(), "torch_rng": torch.get_rng_state(), "step": step,
                "train_seconds": seconds, "args": args, **extra}, tmp)
    os.replace(tmp, path)


def load_rollout_ckpt(path: Path, weights: dict, opt, gen, rng) -> dict:
    """Load a `save_rollout_ckpt` checkpoint into `weights`, the optimiser and the generators;
    the checkpoint (its step, training seconds and extras)."""
    ck = torch.load(path, weights_only=False)
    for k, m in weights.items():
        m.load_state_dict(ck[k])
    opt.load_state_dict(ck["opt"])
    gen.set_state(ck["gen"])
    rng.setstate(ck["py_rng"])
    torch.set_rng_state(ck["torch_rng"])
    return ck


def run_logger(run_dir: Path, enabled: bool = True):
    """A `log(msg)` that prints (through tqdm, so progress bars stay intact) and appends a
    timestamped line to <run_dir>/train.log."""
    import time

    from tqdm import tqdm

    f = open(Path(run_dir) / "train.log", "a") if enabled else None

    def log(msg: str):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        tqdm.write(line)
        if f is not None:
            f.write(line + "\n")
            f.flush()
    return log


# --- the one training loop --------------------------------------------------------------------
@dataclass
class LoopState:
    """What a resumed run continues from: optimiser steps taken, training seconds (evaluation and
    checkpoint time excluded) and tokens seen."""
    step: int = 0
    elapsed: float = 0.0
    tokens_seen: int = 0


@dataclass
class StepOut:
    """One optimiser step's report: the loss, metrics to average over the log window, the tokens
    it consumed and a group label (a task name in multi-task runs)."""
    loss: float
    metrics: dict = field(default_factory=dict)
    tokens: int = 0
    group: str = ""


def optimizer_step(model, opt, loss, grad_clip: float) -> float:
    """Backward, clip, step; returns the gradient norm before clipping."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gn = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return float(gn)


@dataclass
class TrainLoop:
    """The resumable, time- or step-budgeted loop every trainer runs.

    step_fn(step) -> StepOut does one optimiser step; lr_fn(step, progress) -> lr; progress is
    the larger of step / max_steps and training time / (minutes * 60), and the run ends when
    either budget is spent. `last` holds the last log window's means. Every
    `ckpt_minutes` the loop calls `checkpoint(state)` and then `evaluate()` (logged); with
    `eval_every` steps set, evaluation also runs on that cadence. Evaluation and checkpoint time
    is not training time, so a resumed run keeps its schedule. At the end: checkpoint, evaluate.
    """
    step_fn: Callable[[int], StepOut]
    lr_fn: Callable[[int, float], float]
    optimizer: object
    log: Callable[[str], None]
    checkpoint: Callable[[LoopState], None]
    evaluate: Callable[[], object] | None = None
    minutes: float | None = None
    max_steps: int | None = None
    log_every: int = 50
    ckpt_minutes: float = 10.0
    eval_every: int | None = None
    desc: str = "train"
    last: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.minutes is None and self.max_steps is None:
            raise ValueError("give a time budget (minutes) or a step budget (max_steps)")

    def _progress(self, s: LoopState) -> float:
        """The larger of the step and time fractions (whichever budget binds first)."""
        parts = [0.0]
        if self.max_steps:
            parts.append(s.step / self.max_steps)
        if self.minutes:
            parts.append(s.elapsed / (self.minutes * 60))
        return max(parts)

    def _done(self, s: LoopState) -> str | None:
        if self.max_steps is not None and s.step >= self.max_steps:
            return f"reached {self.max_steps} steps"
        if self.minutes is not None and s.elapsed >= self.minutes * 60:
            return f"reached {self.minutes:g} training minutes"
        return None

    def _eval(self, s: LoopState, what: str) -> None:
        if self.evaluate is not None:
            self.log(f"{what} step {s.step}: val {json.dumps(self.evaluate(), default=str)}")

    def run(self, s: LoopState) -> LoopState:
        from tqdm import tqdm

        seg_start, seg_elapsed0 = time.time(), s.elapsed
        last_ckpt = time.time()
        win: dict[str, list] = {}
        win_tok, win_t0 = 0, time.time()
        bar = tqdm(total=self.max_steps, initial=s.step, dynamic_ncols=True, desc=self.desc)
        while True:
            s.elapsed = seg_elapsed0 + time.time() - seg_start
            reason = self._done(s)
            if reason:
                break
            lr = self.lr_fn(s.step, self._progress(s))
            for g in self.optimizer.param_groups:
                g["lr"] = lr
            out = self.step_fn(s.step)
            s.step += 1
            s.tokens_seen += out.tokens
            w = win.setdefault(out.group, [0, 0.0, {}])
            w[0] += 1
            w[1] += out.loss
            for k, v in out.metrics.items():
                w[2][k] = w[2].get(k, 0.0) + float(v)
            win_tok += out.tokens
            bar.update(1)
            paused = 0.0
            if s.step % self.log_every == 0:
                g0, v0 = next(iter(win.items()))
                self.last = {"step": s.step, "loss": v0[1] / v0[0], **{k: x / v0[0] for k, x in v0[2].items()}}
                parts = " ".join(f"{(g + ':') if g else ''}loss={v[1] / v[0]:.4f}"
                                 + "".join(f",{k}={x / v[0]:.4f}" for k, x in v[2].items()) for g, v in win.items())
                self.log(f"step {s.step} lr {lr:.2e} {parts} tok/s {win_tok / max(time.time() - win_t0, 1e-9):.0f} "
                         f"train_min {s.elapsed / 60:.1f} tokens_seen {s.tokens_seen}")
                win, win_tok, win_t0 = {}, 0, time.time()
            if self.eval_every and s.step % self.eval_every == 0:
                t0 = time.time()
                self._eval(s, "eval at")
                paused += time.time() - t0
            if time.time() - last_ckpt >= self.ckpt_minutes * 60:
                t0 = time.time()
                s.elapsed = seg_elapsed0 + t0 - seg_start - paused
                self.checkpoint(s)
                if not self.eval_every:
                    self._eval(s, "checkpoint")
                paused += time.time() - t0
                last_ckpt = time.time()
            seg_start += paused  # evaluation and checkpoints are not training time
            win_t0 += paused
        bar.close()
        self.checkpoint(s)
        self.log(f"done ({reason}): step {s.step}, {s.tokens_seen} tokens, {s.elapsed / 60:.1f} training minutes")
        self._eval(s, "final")
        return s


def restore(ck: dict, model, opt, gen) -> LoopState:
    """Load a `save_ckpt` checkpoint into model, optimiser and generators; the state to resume."""
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    gen.set_state(ck["generator"])
    torch.set_rng_state(ck["torch_rng"])
    return LoopState(ck["step"], ck["elapsed"], ck.get("tokens_seen", 0))
