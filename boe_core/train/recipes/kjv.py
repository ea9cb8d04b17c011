"""Recipe `kjv`: the shipped KJV TinyMDM (masked diffusion LM) on the TRAIN split.

Data: whole consecutive train verses packed into windows of up to --max-length tokens, every verse
followed by [EOS]; a window is padded to the batch's longest with [PAD], which is neither attended
to nor masked. Each window starts at a random verse, so position 0 is always a verse start. With
probability --p-single a step is a batch of single verses (3x as many rows): evaluation canvases
are single verses + [EOS], so the model also sees that shape.

Objective: `mdm_loss` (t ~ U(eps, 1), 1/t weighting). AdamW, warm-up + cosine decay to 10% over
--steps if given, else over the --minutes budget. Resumable (<run-dir>/ckpt.pt every
--ckpt-minutes, `--resume`); log in <run-dir>/train.log; exported to --export at the end.

  python -m boe_core.train kjv --minutes 60                 # train + export
  python -m boe_core.train kjv --minutes 60 --resume        # continue an interrupted run
  python -m boe_core.train kjv --export-only                # export runs/kjv/ckpt.pt
  python -m boe_core.train kjv --bench 8 --d-model 256      # seconds/step, then exit
"""
from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ... import paths
from ...errors import ConfigError
from ...models import training
from ...models.tiny_mdm import TinyMDM, TinyMDMConfig, mdm_loss
from ...tokenization import MDMTokenizer
from ..config import OptimConfig, opt


@dataclass
class KJVConfig(OptimConfig):
    """Train the KJV TinyMDM (see boe_core/train/recipes/kjv.py)."""
    tokenizer: str = opt(None, "folder with tokenizer.json (default: assets/models/kjv)")
    run_dir: str = opt(None, "checkpoint and log folder (default: runs/kjv)")
    export: str = opt(None, "export folder (default: assets/models/kjv)")
    minutes: float = opt(60.0, "training wall-time budget")
    steps: int = opt(None, "fixed step count (schedule horizon); default: time-based", type=int)
    max_length: int = opt(128)
    d_model: int = opt(256)
    n_layers: int = opt(6)
    pos_encoding: str = opt("rope", "rope: rotary q/k; learned: the first kjv model's table",
                            choices=["rope", "learned"])
    stratified_t: int = opt(1, "1: one mask ratio per stratum of the batch")
    n_heads: int = opt(4)
    mlp_ratio: int = opt(4)
    pos_init: str = opt("sinusoidal", "initial learned position embeddings (see sinusoidal_positions)",
                        choices=["sinusoidal", "random"])
    batch: int = opt(32, "packed windows per step")
    p_single: float = opt(0.25, "probability of a single-verse step")
    threads: int = opt(2)
    device: str = opt("cpu", "cpu or cuda: where the model trains (data and masks are drawn on the CPU "
                             "from the seeded generator either way)")
    ckpt_minutes: float = opt(3.0)
    log_every: int = opt(20)
    resume: bool = opt(False, "continue from <run-dir>/ckpt.pt")
    export_only: bool = opt(False, "export <run-dir>/ckpt.pt and exit")
    bench: int = opt(0, "time this many steps (after 2 warm-up) and exit")


class WindowSampler:
    """Packs consecutive train verses (each + [EOS]) into windows of <= max_length tokens."""

    def __init__(self, verse_ids: list[list[int]], max_length: int, pad_id: int):
        self.v = [ids[:max_length] for ids in verse_ids]
        self.max_length = max_length
        self.pad_id = pad_id

    def window(self, start: int) -> list[int]:
        out: list[int] = []
        i = start
        while i < len(self.v) and len(out) + len(self.v[i]) <= self.max_length:
            out.extend(self.v[i])
            i += 1
        return out or self.v[start]

    def batch(self, n: int, gen: torch.Generator, single: bool):
        starts = torch.randint(len(self.v), (n,), generator=gen).tolist()
        rows = [self.v[s] if single else self.window(s) for s in starts]
        L = max(len(r) for r in rows)
        ids = torch.full((n, L), self.pad_id, dtype=torch.long)
        real = torch.zeros(n, L, dtype=torch.bool)
        for k, r in enumerate(rows):
            ids[k, :len(r)] = torch.tensor(r)
            real[k, :len(r)] = True
        return ids, real


def sinusoidal_positions(n: int, d: int, rms: float = 0.05) -> torch.Tensor:
    """Transformer sin/cos table scaled to per-element RMS `rms`. With random learned positions a
    bidirectional MDM sat on the unigram plateau for hundreds of steps (every [MASK] looks the same);
    dot products that depend on the offset make neighbour attention learnable at once."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float64)[None]
    ang = pos / (10000 ** (i / d))
    pe = torch.zeros(n, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang[:, : d // 2])
    return (pe * (rms / pe.pow(2).mean().sqrt())).float()


def build_model(c: KJVConfig, vocab_size: int) -> TinyMDM:
    cfg = TinyMDMConfig(vocab_size=vocab_size, max_length=c.max_length, d_model=c.d_model, n_layers=c.n_layers,
                        n_heads=c.n_heads, mlp_ratio=c.mlp_ratio, dropout=0.0, pos_encoding=c.pos_encoding)
    model = TinyMDM(cfg)
    if cfg.pos_encoding == "learned" and c.pos_init == "sinusoidal":
        with torch.no_grad():
            model.pos_emb.weight.copy_(sinusoidal_positions(cfg.max_length, cfg.d_model))
    return model


def export(model, tok: MDMTokenizer, out: Path, log):
    copy.deepcopy(model).cpu().eval().save_pretrained(out)
    tok.save(out)
    log(f"exported to {out} ({(out / 'model.safetensors').stat().st_size / 1e6:.1f} MB weights)")


def run(c: KJVConfig) -> None:
    from ...tasks.kjv import load_texts, masked_token_accuracy

    c.tokenizer = c.tokenizer or str(paths.models_dir() / "kjv")
    c.run_dir = c.run_dir or str(paths.runs_dir() / "kjv")
    c.export = c.export or str(paths.models_dir() / "kjv")
    torch.set_num_threads(c.threads)
    run_dir = Path(c.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    log = training.run_logger(run_dir, enabled=not c.bench)

    tok = MDMTokenizer.load(c.tokenizer)
    ck = None
    if c.resume or c.export_only:
        if not ckpt_path.is_file():
            raise ConfigError("resume", True, f"no checkpoint at {ckpt_path}")
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        for k in ("max_length", "d_model", "n_layers", "n_heads", "mlp_ratio"):  # the checkpoint's architecture
            setattr(c, k, ck["config"][k])
        c.pos_encoding = ck["config"].get("pos_encoding", "learned")
    torch.manual_seed(c.seed)
    model = build_model(c, tok.vocab_size).to(c.device)  # before the optimizer: its state follows
    opt_ = training.make_optimizer(model, c.lr, c.weight_decay)
    gen = torch.Generator().manual_seed(c.seed)
    start = training.restore(ck, model, opt_, gen) if ck is not None else training.LoopState()
    if c.export_only:
        log(f"export-only from {ckpt_path} (step {start.step})")
        export(model, tok, Path(c.export), log)
        return

    train_ids = [tok.encode(t) + [tok.eos_id] for t in load_texts("train")]
    sampler = WindowSampler(train_ids, c.max_length, tok.pad_id)
    val_texts = load_texts("val")[:200]
    nparams = model.num_parameters()

    def train_step(step):
        single = bool(torch.rand((), generator=gen) < c.p_single)
        ids, real = sampler.batch(c.batch * (3 if single else 1), gen, single)
        ids, real = ids.to(c.device), real.to(c.device)
        model.train()
        loss, acc = mdm_loss(model, ids, tok.mask_id, gen, maskable=real, key_padding_mask=real,
                             stratified=bool(c.stratified_t))
        gn = training.optimizer_step(model, opt_, loss, c.grad_clip)
        return training.StepOut(loss.item(), {"masked_acc": float(acc), "gnorm": gn}, int(real.sum()))

    if c.bench:
        for _ in range(2):
            train_step(0)
        t0 = time.perf_counter()
        toks = sum(train_step(0).tokens for _ in range(c.bench))
        dt = (time.perf_counter() - t0) / c.bench
        print(json.dumps({"d_model": c.d_model, "n_layers": c.n_layers, "batch": c.batch,
                          "params_M": round(nparams / 1e6, 2), "sec_per_step": round(dt, 3),
                          "tokens_per_s": round(toks / c.bench / dt), "threads": c.threads}))
        return

    log(f"{'resume at step %d' % start.step if ck else 'start'}: {nparams / 1e6:.2f}M params, config "
        f"{json.dumps(vars(model.config))}, args {json.dumps(vars(c))}, {len(train_ids)} train verses")

    def val_acc():
        model.eval()
        r = random.Random(1234)
        return {f"{m}": round(masked_token_accuracy(model, tok, val_texts, m, r)["accuracy"], 4) for m in (0.15, 0.5, 0.9)}

    def checkpoint(st):
        training.save_ckpt(ckpt_path, model, opt_, st.step, gen, st.elapsed, c, st.tokens_seen)

    loop = training.TrainLoop(train_step, lambda step, p: training.lr_at(c.lr, c.warmup, c.min_lr_frac, step, p),
                              opt_, log, checkpoint, evaluate=val_acc, minutes=c.minutes, max_steps=c.steps,
                              log_every=c.log_every, ckpt_minutes=c.ckpt_minutes, desc="kjv")
    loop.run(start)
    export(model, tok, Path(c.export), log)
