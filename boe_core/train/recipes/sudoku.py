"""Recipe `sudoku`: the shipped 9x9 Sudoku TinyMDM, MDM objective (`mdm_loss`), on CPU.

Data: a seeded pool of random complete grids; every batch applies fresh random validity-preserving
symmetries (digit relabelling, row/col/band/stack permutations, transpose). All 81 cells are
maskable; the model sees no puzzle structure beyond the MDM masking.

    python -m boe_core.train sudoku --bench                 # seconds/step for a few sizes
    python -m boe_core.train sudoku --minutes 60            # train, export to assets/models/sudoku
    python -m boe_core.train sudoku --minutes 60 --resume   # continue after an interruption
    python -m boe_core.train sudoku --export-only           # export runs/sudoku/ckpt.pt now

The schedule is linear warm-up then cosine over progress = max(step / --steps, training seconds /
(--minutes * 60)), so a time budget gets a full cosine even on a shared CPU.
"""
from __future__ import annotations

import copy
import json
import os
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ... import paths
from ...errors import ConfigError
from ...models import training
from ...models.tiny_mdm import TinyMDM, TinyMDMConfig, mdm_loss
from ...tasks import sudoku as S
from ..augment import augment_batch
from ..config import OptimConfig, opt


@dataclass
class SudokuConfig(OptimConfig):
    """Train the 9x9 Sudoku TinyMDM (see boe_core/train/recipes/sudoku.py)."""
    min_lr_frac: float = opt(0.05, "cosine decay floor, a fraction of --lr")
    weight_decay: float = opt(0.01)
    run_dir: str = opt(None, "checkpoint and log folder (default: runs/sudoku)")
    export_dir: str = opt(None, "export folder (default: assets/models/sudoku)")
    val: str = opt(None, "val puzzles jsonl (default: assets/data/sudoku/heldout_val.jsonl)")
    d_model: int = opt(128)
    n_layers: int = opt(6)
    n_heads: int = opt(4)
    batch_size: int = opt(64)
    steps: int = opt(None, "step budget (schedule length)", type=int)
    minutes: float = opt(None, "training-time budget (schedule length)", type=float)
    pool_size: int = opt(20000, "number of base solution grids")
    struct_init: int = opt(1, "1: initialise position embeddings as row+column+box vectors")
    threads: int = opt(1)
    log_every: int = opt(50)
    eval_every: int = opt(500, "steps between val decodes (0 = off)")
    eval_n: int = opt(50)
    ckpt_minutes: float = opt(3.0)
    resume: bool = opt(False, "continue from <run-dir>/ckpt.pt")
    no_export: bool = opt(False)
    export_only: bool = opt(False, "export <run-dir>/ckpt.pt and exit")
    bench: bool = opt(False, "time a few model sizes and exit")


def make_pool(n: int, seed: int, cache: Path | None) -> torch.Tensor:
    """n random solved grids from random.Random(1_000_000 + seed), cached in the run folder."""
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
    of = S.SHAPE.unit_of  # each cell's row, column and box number
    pe = torch.stack([row[of["row"][i]] + col[of["column"][i]] + box[of["box"][i]] for i in range(81)])
    with torch.no_grad():
        model.pos_emb.weight[:81] = pe


def build(c: SudokuConfig, tok):
    """(model, optimiser): matrices decay, embeddings, biases and norms do not."""
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=81, d_model=c.d_model, n_layers=c.n_layers,
                        n_heads=c.n_heads, task="sudoku")
    g = torch.Generator().manual_seed(c.seed)
    torch.manual_seed(c.seed)
    model = TinyMDM(cfg)
    if c.struct_init:
        struct_init_(model, g)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt_ = torch.optim.AdamW([{"params": decay, "weight_decay": c.weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=c.lr, betas=(0.9, 0.98))
    return model, opt_


def batch(pool, c: SudokuConfig, g, lut):
    idx = torch.randint(0, pool.shape[0], (c.batch_size,), generator=g)
    return lut[augment_batch(pool[idx], g)]


def evaluate(model, tok, rows, order="confidence"):
    """Decode `rows` with the project's sampler, one cell per step (steps = the most blanks of any
    puzzle). The adapter freezes the module it wraps, so it gets a copy: the training model keeps
    its train mode and trainable parameters."""
    from ...models.tiny_adapter import TinyMDMAdapter
    from ...sampler import generate

    ids = torch.stack([S.puzzle_to_canvas(r["puzzle"], tok)[0] for r in rows])
    adapter = TinyMDMAdapter(copy.deepcopy(model), tok, name="sudoku-train")
    steps = int((ids == tok.mask_id).sum(1).max())
    trace = generate(adapter, canvas=ids, policy=order, steps=steps, seed=0)
    grids = [S.canvas_to_grid(x, tok) for x in trace.final_canvas]
    sols = [r["solution"] for r in rows]
    return S.solve_rate(grids, sols), S.cell_accuracy(grids, sols, [r["puzzle"] for r in rows])


def export(model, tok, c: SudokuConfig, info: dict) -> None:
    out = Path(c.export_dir)
    model.save_pretrained(out)
    tok.save(out)
    (out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")


def bench(c: SudokuConfig, tok):
    """Seconds per step for a few model sizes and batch sizes."""
    lut = S.digit_lookup(tok)
    pool = make_pool(512, c.seed, None)
    for d, L, h in [(128, 4, 4), (128, 6, 4), (160, 6, 4), (192, 6, 6), (128, 8, 4)]:
        for bs in (64, 128):
            b = replace(c, d_model=d, n_layers=L, n_heads=h, batch_size=bs)
            model, opt_ = build(b, tok)
            g = torch.Generator().manual_seed(0)
            ts = []
            for i in range(6):
                t0 = time.perf_counter()
                loss, acc = mdm_loss(model, batch(pool, b, g, lut), tok.mask_id, g)
                opt_.zero_grad(set_to_none=True)
                loss.backward()
                opt_.step()
                ts.append(time.perf_counter() - t0)
            mb = model.num_parameters() * 4 / 2**20
            print(f"d={d} L={L} heads={h} bs={bs} params={model.num_parameters()/1e6:.2f}M ({mb:.1f} MB) "
                  f"sec/step={sum(ts[2:]) / len(ts[2:]):.3f}", flush=True)


_RESTORED = ("d_model", "n_layers", "n_heads", "batch_size", "lr", "min_lr_frac", "weight_decay", "warmup", "seed",
             "pool_size", "struct_init", "threads")


def start(c: SudokuConfig, tok, ckpt_path: Path, say):
    """(model, optimizer, generator, step, training seconds): fresh, or from the run's checkpoint
    with its own hyper-parameters (--minutes / --steps may change on a resume)."""
    model, opt_ = build(c, tok)
    g = torch.Generator().manual_seed(c.seed + 1)
    if not ((c.resume or c.export_only) and ckpt_path.is_file()):
        if c.export_only:
            raise ConfigError("export_only", True, f"no checkpoint at {ckpt_path}")
        return model, opt_, g, 0, 0.0
    ck = torch.load(ckpt_path, weights_only=False)
    for k in _RESTORED:
        setattr(c, k, ck["args"][k])
    model, opt_ = build(c, tok)
    model.load_state_dict(ck["model"])
    opt_.load_state_dict(ck["opt"])
    g.set_state(ck["gen"])
    torch.set_rng_state(ck["torch_rng"])
    say(f"resumed from {ckpt_path} at step {ck['step']} ({ck['train_seconds'] / 60:.1f} train-min)")
    return model, opt_, g, ck["step"], ck["train_seconds"]


def run(c: SudokuConfig) -> None:
    if not (c.bench or c.export_only) and c.steps is None and c.minutes is None:
        raise ConfigError("steps", None, "give --steps and/or --minutes")
    c.run_dir = c.run_dir or str(paths.runs_dir() / "sudoku")
    c.export_dir = c.export_dir or str(paths.models_dir() / "sudoku")
    c.val = c.val or str(paths.data_dir() / "sudoku" / "heldout_val.jsonl")
    torch.set_num_threads(c.threads)
    tok = S.sudoku_tokenizer()
    if c.bench:
        return bench(c, tok)
    run_dir = Path(c.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    say = training.run_logger(run_dir)
    model, opt_, g, step, secs = start(c, tok, ckpt_path, say)
    last: dict = {}

    def save_ckpt():  # the sudoku checkpoint's own keys (opt, gen, train_seconds), kept for resumes
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt_.state_dict(), "gen": g.get_state(),
                    "torch_rng": torch.get_rng_state(), "step": step, "train_seconds": secs,
                    "args": asdict(c), "config": asdict(model.config)}, tmp)
        os.replace(tmp, ckpt_path)

    def info():
        return {"steps": step, "train_minutes": round(secs / 60, 2), "batch_size": c.batch_size, "lr": c.lr,
                "seed": c.seed, "pool_size": c.pool_size, "struct_init": bool(c.struct_init),
                "params": model.num_parameters(), "machine": f"CPU, {c.threads} thread(s)", "last": last}

    if c.export_only:
        prev = Path(c.export_dir) / "training_info.json"
        old = json.loads(prev.read_text()) if prev.is_file() else {}
        if old.get("steps") == step:  # same checkpoint: keep the metrics the training run recorded
            last = old.get("last", {})
        export(model, tok, c, {**info(), "note": "exported with --export-only"})
        say(f"exported step {step} to {c.export_dir}")
        return

    pool = make_pool(c.pool_size, c.seed, run_dir / f"pool_{c.seed}_{c.pool_size}.pt")
    lut = S.digit_lookup(tok)
    val_rows = []
    if c.eval_every and Path(c.val).is_file():
        val_rows = [json.loads(l) for l in Path(c.val).read_text().splitlines() if l.strip()][: c.eval_n]
    say(f"model d={c.d_model} L={c.n_layers} heads={c.n_heads} params={model.num_parameters()} "
        f"bs={c.batch_size} lr={c.lr} steps={c.steps} minutes={c.minutes} threads={c.threads} pool={pool.shape[0]}")

    def train_step(step):
        model.train()
        loss, acc = mdm_loss(model, batch(pool, c, g, lut), tok.mask_id, g)
        training.optimizer_step(model, opt_, loss, c.grad_clip)
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

    loop = training.TrainLoop(train_step, lambda step, p: training.lr_at(c.lr, c.warmup, c.min_lr_frac, step, p),
                              opt_, say, checkpoint, evaluate=val if val_rows else None, minutes=c.minutes,
                              max_steps=c.steps, log_every=c.log_every, ckpt_minutes=c.ckpt_minutes,
                              eval_every=c.eval_every or None, desc="sudoku")
    loop.run(training.LoopState(step, secs))
    last.update(loop.last)
    if not c.no_export:
        export(model, tok, c, info())
        say(f"exported to {c.export_dir}")
