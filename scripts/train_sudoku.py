#!/usr/bin/env python
"""Train the shipped Sudoku TinyMDM with the MDM objective (`mdm_loss`) on CPU.

Data: a seeded pool of random complete grids; every batch applies fresh random validity-preserving
symmetries (digit relabelling, row/col/band/stack permutations, transpose). All 81 cells are
maskable; the model sees no puzzle structure beyond the MDM masking.

    # measure seconds/step for a few sizes (1 thread)
    python scripts/train_sudoku.py --bench
    # the real run (time budget, resumable), exports to assets/models/sudoku at the end
    nohup python scripts/train_sudoku.py --minutes 60 > runs/sudoku/nohup.out 2>&1 &
    python scripts/train_sudoku.py --minutes 60 --resume      # continue after an interruption
    python scripts/train_sudoku.py --export-only              # export runs/sudoku/ckpt.pt now

The LR schedule is linear warmup then cosine over "progress" = max(step/--steps,
train_seconds/(--minutes*60)), so a time budget gets a full cosine even on a shared CPU.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import torch

from boe_core.models import training
from boe_core.models.tiny_adapter import TinyMDMAdapter
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig, mdm_loss
from boe_core.sampler import generate
from boe_core.tasks import sudoku as S


def get_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", default=str(ROOT / "runs" / "sudoku"))
    ap.add_argument("--export-dir", default=str(ROOT / "assets" / "models" / "sudoku"))
    ap.add_argument("--val", default=str(ROOT / "assets" / "data" / "sudoku" / "heldout_val.jsonl"))
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--n-layers", type=int, default=6)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--steps", type=int, default=None, help="step budget (schedule length)")
    ap.add_argument("--minutes", type=float, default=None, help="training-time budget (schedule length)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pool-size", type=int, default=20000, help="number of base solution grids")
    ap.add_argument("--struct-init", type=int, default=1,
                    help="1: initialise position embeddings as row+column+box vectors (default)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500, help="steps between val decodes (0 = off)")
    ap.add_argument("--eval-n", type=int, default=50)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--bench", action="store_true", help="time a few model sizes and exit")
    a = ap.parse_args(argv)
    if not (a.bench or a.export_only) and a.steps is None and a.minutes is None:
        ap.error("give --steps and/or --minutes")
    return a


def make_pool(n: int, seed: int, cache: Path | None) -> torch.Tensor:
    if cache is not None and cache.is_file():
        d = torch.load(cache)
        if d["seed"] == seed and d["grids"].shape[0] == n:
            return d["grids"]
    rng = random.Random(1_000_000 + seed)
    grids = torch.tensor([S.parse_grid(S.random_solution(rng)) for _ in range(n)], dtype=torch.long)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"seed": seed, "grids": grids}, cache)
    return grids


def struct_init_(model: TinyMDM, g: torch.Generator, std: float = 0.02) -> None:
    """Position embedding of cell i = row[r] + col[c] + box[b] (random vectors): cells of the same
    unit start out similar, which the attention can use from step 0. Only an initialisation."""
    d = model.config.d_model
    row, col, box = (torch.randn(9, d, generator=g) * std for _ in range(3))
    pe = torch.stack([row[S.ROW[i]] + col[S.COL[i]] + box[S.BOX[i]] for i in range(81)])
    with torch.no_grad():
        model.pos_emb.weight[:81] = pe


def lr_at(a, step: int, progress: float) -> float:
    return training.lr_at(a.lr, a.warmup, a.min_lr_frac, step, progress)


def build(a, tok):
    extra = {"task": "sudoku"} if "task" in TinyMDMConfig.__dataclass_fields__ else {}
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=81, d_model=a.d_model,
                        n_layers=a.n_layers, n_heads=a.n_heads, **extra)
    g = torch.Generator().manual_seed(a.seed)
    torch.manual_seed(a.seed)
    model = TinyMDM(cfg)
    if a.struct_init:
        struct_init_(model, g)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.98))
    return model, opt


def batch(pool, a, g, lut):
    idx = torch.randint(0, pool.shape[0], (a.batch_size,), generator=g)
    return lut[S.augment_batch(pool[idx], g)]


def evaluate(model, tok, rows, order="confidence"):
    """Decode `rows` with the project's sampler (`boe_core.generate`, policy `order`), one cell per
    step: steps = the most blanks of any puzzle (rows with fewer blanks commit nothing in their
    last steps). The adapter freezes the module it wraps, so it gets a copy: the training model
    keeps its train mode and trainable parameters."""
    ids = torch.stack([S.puzzle_to_canvas(r["puzzle"], tok)[0] for r in rows])
    adapter = TinyMDMAdapter(copy.deepcopy(model), tok, name="sudoku-train")
    steps = int((ids == tok.mask_id).sum(1).max())
    trace = generate(adapter, canvas=ids, policy=order, steps=steps, seed=0)
    grids = [S.canvas_to_grid(x, tok) for x in trace.final_canvas]
    sols = [r["solution"] for r in rows]
    return S.solve_rate(grids, sols), S.cell_accuracy(grids, sols, [r["puzzle"] for r in rows])


def export(model, tok, a, info: dict) -> None:
    out = Path(a.export_dir)
    model.save_pretrained(out)
    tok.save(out)
    (out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")


def bench(a, tok):
    lut = S.digit_lookup(tok)
    pool = make_pool(512, a.seed, None)
    for d, L, h in [(128, 4, 4), (128, 6, 4), (160, 6, 4), (192, 6, 6), (128, 8, 4)]:
        for bs in (64, 128):
            b = argparse.Namespace(**{**vars(a), "d_model": d, "n_layers": L, "n_heads": h, "batch_size": bs})
            model, opt = build(b, tok)
            g = torch.Generator().manual_seed(0)
            ts = []
            for i in range(6):
                t0 = time.perf_counter()
                loss, acc = mdm_loss(model, batch(pool, b, g, lut), tok.mask_id, g)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                ts.append(time.perf_counter() - t0)
            mb = model.num_parameters() * 4 / 2**20
            print(f"d={d} L={L} heads={h} bs={bs} params={model.num_parameters()/1e6:.2f}M ({mb:.1f} MB) "
                  f"sec/step={sum(ts[2:]) / len(ts[2:]):.3f}", flush=True)


def start(a, tok, ckpt_path: Path, say):
    """(model, optimizer, generator, step, training seconds): fresh, or from the run's checkpoint
    with its own hyper-parameters (--minutes / --steps may change on a resume)."""
    model, opt = build(a, tok)
    g = torch.Generator().manual_seed(a.seed + 1)
    if not ((a.resume or a.export_only) and ckpt_path.is_file()):
        if a.export_only:
            sys.exit(f"--export-only: no checkpoint at {ckpt_path}")
        return model, opt, g, 0, 0.0
    ck = torch.load(ckpt_path, weights_only=False)
    saved = ck["args"]
    for k in ("d_model", "n_layers", "n_heads", "batch_size", "lr", "min_lr_frac", "weight_decay",
              "warmup", "seed", "pool_size", "struct_init", "threads"):
        setattr(a, k, saved[k])
    model, opt = build(a, tok)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    g.set_state(ck["gen"])
    torch.set_rng_state(ck["torch_rng"])
    say(f"resumed from {ckpt_path} at step {ck['step']} ({ck['train_seconds'] / 60:.1f} train-min)")
    return model, opt, g, ck["step"], ck["train_seconds"]


def main(argv=None):
    a = get_args(argv)
    torch.set_num_threads(a.threads)
    tok = S.sudoku_tokenizer()
    if a.bench:
        return bench(a, tok)
    run = Path(a.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    ckpt_path = run / "ckpt.pt"
    say = training.run_logger(run)

    model, opt, g, step, secs = start(a, tok, ckpt_path, say)

    def save_ckpt():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(),
                    "torch_rng": torch.get_rng_state(), "step": step, "train_seconds": secs,
                    "args": vars(a), "config": asdict(model.config)}, tmp)
        os.replace(tmp, ckpt_path)

    def info():
        return {"steps": step, "train_minutes": round(secs / 60, 2), "batch_size": a.batch_size,
                "lr": a.lr, "seed": a.seed, "pool_size": a.pool_size, "struct_init": bool(a.struct_init),
                "params": model.num_parameters(), "machine": f"CPU, {a.threads} thread(s)",
                "last": last}

    last: dict = {}
    if a.export_only:
        prev = Path(a.export_dir) / "training_info.json"
        old = json.loads(prev.read_text()) if prev.is_file() else {}
        if old.get("steps") == step:  # same checkpoint: keep the metrics the training run recorded
            last = old.get("last", {})
        export(model, tok, a, {**info(), "note": "exported with --export-only"})
        say(f"exported step {step} to {a.export_dir}")
        return

    pool = make_pool(a.pool_size, a.seed, run / f"pool_{a.seed}_{a.pool_size}.pt")
    lut = S.digit_lookup(tok)
    val_rows = []
    if a.eval_every and Path(a.val).is_file():
        val_rows = [json.loads(l) for l in Path(a.val).read_text().splitlines() if l.strip()][: a.eval_n]
    say(f"model d={a.d_model} L={a.n_layers} heads={a.n_heads} params={model.num_parameters()} "
        f"bs={a.batch_size} lr={a.lr} steps={a.steps} minutes={a.minutes} threads={a.threads} pool={pool.shape[0]}")
    def train_step(step):
        model.train()
        loss, acc = mdm_loss(model, batch(pool, a, g, lut), tok.mask_id, g)
        training.optimizer_step(model, opt, loss, 1.0)
        return training.StepOut(loss.item(), {"masked_acc": acc.item()})

    def val():
        sr, ca = evaluate(model, tok, val_rows)
        last.update({"val_solve_rate": sr, "val_cell_acc": ca})
        return {"n": len(val_rows), "policy": "confidence, 1 cell/step", "solve_rate": round(sr, 3),
                "cell_acc": round(ca, 4)}

    def checkpoint(st):
        nonlocal step, secs
        step, secs = st.step, st.elapsed
        save_ckpt()

    loop = training.TrainLoop(train_step, lambda step, p: lr_at(a, step, p), opt, say, checkpoint,
                              evaluate=val if val_rows else None, minutes=a.minutes, max_steps=a.steps,
                              log_every=a.log_every, ckpt_minutes=a.ckpt_minutes, eval_every=a.eval_every or None,
                              desc="sudoku")
    loop.run(training.LoopState(step, secs))
    last.update(loop.last)
    if not a.no_export:
        export(model, tok, a, info())
        say(f"exported to {a.export_dir}")


if __name__ == "__main__":
    main()
