#!/usr/bin/env python
"""Train the shipped KJV TinyMDM (masked diffusion LM) on the TRAIN split, CPU, one thread.

Data: whole consecutive train verses packed into windows of up to --max-length tokens, every verse
followed by [EOS]; the window is padded to the batch's longest window with [PAD], and the padding
is neither attended to (key_padding_mask) nor masked (maskable). Each window starts at a random
verse (a fresh draw per window, so windows overlap across steps = cheap augmentation), so position
0 is always a verse start. With probability --p-single a step is instead a batch of single verses
(3x as many rows): evaluation canvases are single verses + [EOS], so the model also sees that shape.

Objective: `mdm_loss` (t ~ U(eps,1) masking ratio, 1/t weighting). AdamW, linear warmup + cosine
decay to 10%; the schedule runs over --steps if given, otherwise over the --minutes budget
(progress = elapsed training time / budget, resumes keep the elapsed time).

Seeded; resumable: a checkpoint (model + optimizer + step + RNG + elapsed time) is written to
<run-dir>/ckpt.pt every --ckpt-minutes and at the end; `--resume` continues from it. Log:
<run-dir>/train.log (loss, masked-token acc, tokens/s, lr, periodic val accuracy). At the end the
model is exported with save_pretrained + the tokenizer to --export.

  python scripts/train_kjv.py --minutes 60                 # train + export
  python scripts/train_kjv.py --minutes 60 --resume        # continue an interrupted run
  python scripts/train_kjv.py --export-only                # export runs/kjv/ckpt.pt
  python scripts/train_kjv.py --bench 8 --d-model 256 --n-layers 6   # seconds/step, then exit
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import torch

from boe_core.models import training
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig, mdm_loss
from boe_core.tasks.kjv import load_texts, masked_token_accuracy
from boe_core.tokenization import MDMTokenizer


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default=str(ROOT / "assets/models/kjv"), help="folder with tokenizer.json")
    ap.add_argument("--run-dir", default=str(ROOT / "runs/kjv"))
    ap.add_argument("--export", default=str(ROOT / "assets/models/kjv"))
    ap.add_argument("--minutes", type=float, default=60.0, help="training wall-time budget")
    ap.add_argument("--steps", type=int, default=None, help="fixed step count (schedule horizon); default: time-based")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--n-layers", type=int, default=6)
    ap.add_argument("--pos-encoding", choices=["rope", "learned"], default="rope",
                    help="rope: rotary q/k (relative offsets from step 0); learned: the first kjv model's table")
    ap.add_argument("--stratified-t", type=int, default=1, help="1: one mask ratio per stratum of the batch")
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--mlp-ratio", type=int, default=4)
    ap.add_argument("--pos-init", choices=["sinusoidal", "random"], default="sinusoidal",
                    help="initial position embeddings (learnable either way); see sinusoidal_positions")
    ap.add_argument("--batch", type=int, default=32, help="packed windows per step")
    ap.add_argument("--p-single", type=float, default=0.25, help="probability of a single-verse step")
    training.add_optimizer_args(ap)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where the model trains (the data and masks are "
                                                    "drawn on the CPU from the seeded generator either way)")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true", help="export <run-dir>/ckpt.pt and exit")
    ap.add_argument("--bench", type=int, default=0, help="time this many steps (after 2 warm-up) and exit")
    return ap.parse_args(argv)


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


def lr_at(args, step: int, progress: float) -> float:
    return training.lr_at(args.lr, args.warmup, args.min_lr_frac, step, progress)


def sinusoidal_positions(n: int, d: int, rms: float = 0.05) -> torch.Tensor:
    """Transformer sin/cos table scaled to per-element RMS `rms`. With random learned positions
    (std 0.02) a bidirectional MDM sits on the unigram plateau for hundreds of steps (observed here:
    loss ~6.0, accuracy = frequency of the most common token, after 500 steps): every [MASK] looks
    the same and attention has no relative-offset structure to find its neighbours. The sinusoidal
    start gives dot products that depend on the offset, so neighbour attention is learnable at once."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float64)[None]
    ang = pos / (10000 ** (i / d))
    pe = torch.zeros(n, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang[:, : d // 2])
    return (pe * (rms / pe.pow(2).mean().sqrt())).float()


def build_model(args, vocab_size: int) -> TinyMDM:
    cfg = TinyMDMConfig(vocab_size=vocab_size, max_length=args.max_length, d_model=args.d_model,
                        n_layers=args.n_layers, n_heads=args.n_heads, mlp_ratio=args.mlp_ratio, dropout=0.0,
                        pos_encoding=getattr(args, "pos_encoding", "learned"))
    model = TinyMDM(cfg)
    if cfg.pos_encoding == "learned" and getattr(args, "pos_init", "random") == "sinusoidal":
        with torch.no_grad():
            model.pos_emb.weight.copy_(sinusoidal_positions(cfg.max_length, cfg.d_model))
    return model


def make_optimizer(model, args):
    return training.make_optimizer(model, args.lr, args.weight_decay)


save_ckpt = training.save_ckpt


def export(model, tok: MDMTokenizer, out: Path, log):
    import copy

    copy.deepcopy(model).cpu().eval().save_pretrained(out)
    tok.save(out)
    log(f"exported to {out} ({(out / 'model.safetensors').stat().st_size / 1e6:.1f} MB weights)")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    log = training.run_logger(run_dir, enabled=not args.bench)

    tok = MDMTokenizer.load(args.tokenizer)
    ck = None
    if args.resume or args.export_only:
        if not ckpt_path.is_file():
            raise SystemExit(f"--resume/--export-only: no checkpoint at {ckpt_path}")
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        # the architecture comes from the checkpoint
        for k in ("max_length", "d_model", "n_layers", "n_heads", "mlp_ratio"):
            setattr(args, k.replace("-", "_"), ck["config"][k])
        args.pos_encoding = ck["config"].get("pos_encoding", "learned")
    torch.manual_seed(args.seed)
    model = build_model(args, tok.vocab_size).to(args.device)  # before the optimizer: its state follows
    opt = make_optimizer(model, args)
    gen = torch.Generator().manual_seed(args.seed)
    start = training.restore(ck, model, opt, gen) if ck is not None else training.LoopState()
    if args.export_only:
        log(f"export-only from {ckpt_path} (step {start.step})")
        export(model, tok, Path(args.export), log)
        return

    train_ids = [tok.encode(t) + [tok.eos_id] for t in load_texts("train")]
    sampler = WindowSampler(train_ids, args.max_length, tok.pad_id)
    val_texts = load_texts("val")[:200]
    nparams = model.num_parameters()

    def train_step(step):
        single = bool(torch.rand((), generator=gen) < args.p_single)
        ids, real = sampler.batch(args.batch * (3 if single else 1), gen, single)
        ids, real = ids.to(args.device), real.to(args.device)
        model.train()
        loss, acc = mdm_loss(model, ids, tok.mask_id, gen, maskable=real, key_padding_mask=real,
                             stratified=bool(args.stratified_t))
        gn = training.optimizer_step(model, opt, loss, args.grad_clip)
        return training.StepOut(loss.item(), {"masked_acc": float(acc), "gnorm": gn}, int(real.sum()))

    if args.bench:
        for _ in range(2):
            train_step(0)
        t0 = time.perf_counter()
        toks = 0
        for _ in range(args.bench):
            toks += train_step(0).tokens
        dt = (time.perf_counter() - t0) / args.bench
        print(json.dumps({"d_model": args.d_model, "n_layers": args.n_layers, "batch": args.batch,
                          "params_M": round(nparams / 1e6, 2), "sec_per_step": round(dt, 3),
                          "tokens_per_s": round(toks / args.bench / dt), "threads": args.threads}))
        return

    log(f"{'resume at step %d' % start.step if ck else 'start'}: {nparams / 1e6:.2f}M params, config "
        f"{json.dumps(vars(model.config))}, args {json.dumps(vars(args))}, {len(train_ids)} train verses")

    def val_acc():
        model.eval()
        r = random.Random(1234)
        return {f"{m}": round(masked_token_accuracy(model, tok, val_texts, m, r)["accuracy"], 4) for m in (0.15, 0.5, 0.9)}

    def checkpoint(st):
        save_ckpt(ckpt_path, model, opt, st.step, gen, st.elapsed, args, st.tokens_seen)

    loop = training.TrainLoop(train_step, lambda step, progress: lr_at(args, step, progress), opt,
                              log, checkpoint, evaluate=val_acc, minutes=args.minutes, max_steps=args.steps,
                              log_every=args.log_every, ckpt_minutes=args.ckpt_minutes, desc="kjv")
    loop.run(start)
    export(model, tok, Path(args.export), log)


if __name__ == "__main__":
    main()
