"""Pieces shared by the training scripts: the learning-rate schedule, AdamW groups, checkpoints."""
from __future__ import annotations

import math
import os
from pathlib import Path

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
