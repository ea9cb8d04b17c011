"""Recipe `sudoku-selfplay`: fine-tune the shipped Sudoku TinyMDM on the states its own confidence
decoding visits (issue #29, "train the model on the states its own decoding visits").

Each optimiser step mixes two halves (``--own-frac`` sets the split):
* the original MDM objective (`mdm_loss`) on random solved grids, symmetry augmented, so easy
  Sudoku keeps what it knew;
* rollout states: puzzles generated from the *training* pool's grids (24-32 clues by default; never
  the val / test / hard splits) are decoded by the current weights in confidence order, k cells per
  step (k drawn per puzzle in 1..--max-cells), and every canvas the decode visits is a training
  state. The target at each masked cell is the solution digit, so the model learns to be right,
  and calibrated, where its own order goes. A share of the rollouts (``--corrected-frac``) writes
  the solution digit at the cells the model chose (its order, no wrong digits visible); the rest
  keep the model's own argmax, so states after its own mistakes are in the mix too.
Rollouts are redone from the current weights every ``--refresh-every`` steps (their time counts
as training time).

    python -m boe_core.train sudoku-selfplay --minutes 25            # from assets/models/sudoku
    python -m boe_core.train sudoku-selfplay --minutes 25 --resume   # continue after an interruption
    python -m boe_core.train sudoku-selfplay --export-only           # export the checkpoint now

Exports to runs/sudoku_selfplay/export (never over assets/models/sudoku).
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ... import paths
from ...errors import ConfigError
from ...models import training
from ...models.tiny_mdm import TinyMDM, mdm_loss
from ...tasks import sudoku as S
from ..augment import augment_batch
from ..config import OptimConfig, opt
from .sudoku import make_pool


@dataclass
class SudokuSelfplayConfig(OptimConfig):
    """Fine-tune the Sudoku TinyMDM on its own confidence rollouts (boe_core/train/recipes/sudoku_selfplay.py)."""
    lr: float = opt(3e-4)
    warmup: int = opt(30)
    min_lr_frac: float = opt(0.1, "cosine decay floor, a fraction of --lr")
    weight_decay: float = opt(0.01)
    init_from: str = opt(None, "model folder to start from (default: assets/models/sudoku)")
    run_dir: str = opt(None, "checkpoint and log folder (default: runs/sudoku_selfplay)")
    export_dir: str = opt(None, "export folder (default: <run-dir>/export)")
    val: str = opt(None, "puzzles logged at checkpoints (default: assets/data/sudoku/hard_val.jsonl)")
    eval_n: int = opt(50, "val puzzles decoded at each checkpoint (0 = off)")
    eval_steps: int = opt(24, "decode steps of the checkpoint eval")
    batch_size: int = opt(64)
    own_frac: float = opt(0.5, "share of each batch that comes from rollout states (rest: random-mask MDM)")
    corrected_frac: float = opt(0.5, "share of rollouts that write the solution digit at the model's chosen cells")
    rollout_puzzles: int = opt(64, "puzzles decoded per refresh")
    refresh_every: int = opt(20, "optimiser steps between rollout refreshes")
    max_cells: int = opt(3, "cells committed per rollout step: k ~ U{1..max_cells} per puzzle")
    min_clues: int = opt(24)
    max_clues: int = opt(32)
    pool_size: int = opt(20000, "training solution grids (the `sudoku` recipe's pool and seed)")
    steps: int = opt(None, "step budget (schedule length)", type=int)
    minutes: float = opt(None, "training-time budget (schedule length)", type=float)
    threads: int = opt(1)
    log_every: int = opt(20)
    ckpt_minutes: float = opt(4.0)
    resume: bool = opt(False, "continue from <run-dir>/ckpt.pt")
    export_only: bool = opt(False, "export <run-dir>/ckpt.pt and exit")


def make_puzzles(grids: torch.Tensor, n: int, c: SudokuSelfplayConfig, g: torch.Generator,
                 rng: random.Random) -> tuple[list[str], list[str]]:
    """n (puzzle, solution) pairs: training grids under a random symmetry, clues removed down to
    U{min_clues..max_clues} with a unique solution kept (`make_puzzle`)."""
    idx = torch.randint(0, grids.shape[0], (n,), generator=g)
    sols = [S.grid_to_str(row.tolist()) for row in augment_batch(grids[idx], g)]
    puzzles = [S.make_puzzle(s, rng, rng.randint(c.min_clues, c.max_clues)) for s in sols]
    return puzzles, sols


@torch.no_grad()
def rollout_states(model: TinyMDM, canvas: torch.Tensor, target: torch.Tensor, k: torch.Tensor,
                   corrected: torch.Tensor, mask_id: int, digit_ids: torch.Tensor):
    """Decode `canvas` (R, 81) in confidence order, k[r] cells per step; row r writes the argmax, or
    the target where corrected[r]. Returns (states, targets): every canvas visited that still has a
    masked cell, with its row's solution ids."""
    was = model.training
    model.eval()
    x = canvas.clone()
    states, targets = [], []
    not_digit = torch.ones(model.config.vocab_size, dtype=torch.bool)
    not_digit[digit_ids] = False
    ranks = torch.arange(x.shape[1])
    while True:
        m = x == mask_id
        live = m.any(1)
        if not live.any():
            break
        states.append(x[live].clone())
        targets.append(target[live])
        logits = model(input_ids=x).float().masked_fill(not_digit, float("-inf"))
        conf, arg = logits.softmax(-1).max(-1)
        conf = conf.masked_fill(~m, -1.0)
        order = conf.argsort(1, descending=True)
        pick = torch.zeros_like(m)
        pick.scatter_(1, order, (ranks[None, :] < k[:, None]).expand_as(m))
        pick &= m
        write = torch.where(corrected[:, None], target, arg)
        x = torch.where(pick, write, x)
    model.train(was)
    return torch.cat(states), torch.cat(targets)


def state_loss(model: TinyMDM, states: torch.Tensor, targets: torch.Tensor, mask_id: int):
    """Cross-entropy of the solution digit at every masked cell of the visited states (weight 1)."""
    masked = states == mask_id
    h = model.hidden(model.tok_emb(states))
    logits = model.head(h[masked]).float()
    tgt = targets[masked]
    return F.cross_entropy(logits, tgt), (logits.argmax(-1) == tgt).float().mean()


@torch.no_grad()
def evaluate(model: TinyMDM, rows: list[dict], steps: int, tok) -> dict:
    """Solve rate of `rows` under the project's sampler, confidence order, `steps` steps."""
    import copy

    from ...models.tiny_adapter import TinyMDMAdapter
    from ...sampler import generate

    ids = torch.stack([S.puzzle_to_canvas(r["puzzle"], tok)[0] for r in rows])
    adapter = TinyMDMAdapter(copy.deepcopy(model), tok, name="sudoku-selfplay")
    tr = generate(adapter, canvas=ids, policy="confidence", steps=steps, seed=0)
    grids = [S.canvas_to_grid(x, tok) for x in tr.final_canvas]
    return {"n": len(rows), "policy": f"confidence, {steps} steps",
            "solve_rate": round(S.solve_rate(grids, [r["solution"] for r in rows]), 3)}


def _optimizer(model: TinyMDM, c: SudokuSelfplayConfig):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": c.weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=c.lr, betas=(0.9, 0.98))


def _check(c: SudokuSelfplayConfig) -> None:
    if not c.export_only and c.steps is None and c.minutes is None:
        raise ConfigError("steps", None, "give --steps and/or --minutes")
    for name in ("own_frac", "corrected_frac"):
        if not 0.0 <= getattr(c, name) <= 1.0:
            raise ConfigError(name, getattr(c, name), "must be in [0, 1]")
    if not 17 <= c.min_clues <= c.max_clues <= 80:
        raise ConfigError("min_clues", (c.min_clues, c.max_clues), "need 17 <= min-clues <= max-clues <= 80")
    if c.max_cells < 1 or c.refresh_every < 1 or c.rollout_puzzles < 1:
        raise ConfigError("max_cells", (c.max_cells, c.refresh_every, c.rollout_puzzles),
                          "max-cells, refresh-every and rollout-puzzles must be >= 1")


def run(c: SudokuSelfplayConfig) -> None:
    _check(c)
    c.init_from = c.init_from or str(paths.models_dir() / "sudoku")
    c.run_dir = c.run_dir or str(paths.runs_dir() / "sudoku_selfplay")
    c.export_dir = c.export_dir or str(Path(c.run_dir) / "export")
    if Path(c.export_dir).resolve() == (paths.models_dir() / "sudoku").resolve():
        raise ConfigError("export_dir", c.export_dir, "would overwrite the shipped sudoku model")
    c.val = c.val or str(paths.data_dir() / "sudoku" / "hard_val.jsonl")
    torch.set_num_threads(c.threads)
    tok = S.sudoku_tokenizer()
    run_dir = Path(c.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    say = training.run_logger(run_dir)

    model = TinyMDM.from_pretrained(c.init_from)
    opt_ = _optimizer(model, c)
    g = torch.Generator().manual_seed(c.seed + 11)
    rng = random.Random(3_000_000 + c.seed)  # puzzle clue removal; grids come from the training pool
    step, secs = 0, 0.0
    if (c.resume or c.export_only) and ckpt_path.is_file():
        ck = training.load_rollout_ckpt(ckpt_path, {"model": model}, opt_, g, rng)
        step, secs = ck["step"], ck["train_seconds"]
        say(f"resume at step {step} ({secs / 60:.1f} train-min), args {json.dumps(asdict(c))}")
    elif c.export_only:
        raise ConfigError("export_only", True, f"no checkpoint at {ckpt_path}")
    else:
        say(f"start: from {c.init_from}, args {json.dumps(asdict(c))}")
    for p in model.parameters():  # from_pretrained returns an eval-mode model; this one trains
        p.requires_grad_(True)
    model.train()
    last: dict = {}

    def save_ckpt():
        training.save_rollout_ckpt(ckpt_path, {"model": model}, opt_, g, rng, step, secs, asdict(c),
                                   config=asdict(model.config))

    def export():
        out = Path(c.export_dir)
        model.save_pretrained(out)
        tok.save(out)
        info = {"recipe": "sudoku-selfplay", "init_from": c.init_from, "steps": step,
                "train_minutes": round(secs / 60, 2), "batch_size": c.batch_size, "lr": c.lr, "seed": c.seed,
                "own_frac": c.own_frac, "corrected_frac": c.corrected_frac, "refresh_every": c.refresh_every,
                "rollout_puzzles": c.rollout_puzzles, "clues": [c.min_clues, c.max_clues],
                "params": model.num_parameters(), "machine": f"CPU, {c.threads} thread(s)", "last": last}
        (out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
        say(f"exported step {step} to {out}")

    if c.export_only:
        return export()

    grids = make_pool(c.pool_size, 0, run_dir / f"pool_0_{c.pool_size}.pt")  # the `sudoku` recipe's pool
    lut = S.digit_lookup(tok)
    digit_ids = torch.tensor(S.digit_ids(tok))
    val_rows = []
    if c.eval_n and Path(c.val).is_file():
        val_rows = [json.loads(l) for l in Path(c.val).read_text().splitlines() if l.strip()][: c.eval_n]
    n_own = round(c.batch_size * c.own_frac)
    buf: dict = {}

    def refresh():
        puzzles, sols = make_puzzles(grids, c.rollout_puzzles, c, g, rng)
        canvas = torch.stack([S.puzzle_to_canvas(p, tok)[0] for p in puzzles])
        target = lut[torch.tensor([S.parse_grid(s) for s in sols])]
        k = torch.randint(1, c.max_cells + 1, (len(puzzles),), generator=g)
        corrected = torch.rand(len(puzzles), generator=g) < c.corrected_frac
        buf["states"], buf["targets"] = rollout_states(model, canvas, target, k, corrected, tok.mask_id, digit_ids)

    def train_step(i):
        model.train()
        if i % c.refresh_every == 0 or not buf:
            refresh()
        parts, metrics = [], {}
        if n_own:
            j = torch.randint(0, buf["states"].shape[0], (n_own,), generator=g)
            lo, acc = state_loss(model, buf["states"][j], buf["targets"][j], tok.mask_id)
            parts.append(c.own_frac * lo)
            metrics.update(own_loss=lo.item(), own_acc=acc.item())
        if c.batch_size - n_own:
            idx = torch.randint(0, grids.shape[0], (c.batch_size - n_own,), generator=g)
            lo, acc = mdm_loss(model, lut[augment_batch(grids[idx], g)], tok.mask_id, g)
            parts.append((1 - c.own_frac) * lo)
            metrics.update(mdm_loss=lo.item(), mdm_acc=acc.item())
        loss = sum(parts)
        training.optimizer_step(model, opt_, loss, c.grad_clip)
        return training.StepOut(loss.item(), metrics)

    def val():
        r = evaluate(model, val_rows, c.eval_steps, tok)
        last.update({"val_solve_rate": r["solve_rate"], "val": c.val, "val_n": r["n"]})
        return r

    def checkpoint(st):
        nonlocal step, secs
        step, secs = st.step, st.elapsed
        save_ckpt()

    say(f"own states {n_own}/{c.batch_size} per batch, {c.rollout_puzzles} rollouts every {c.refresh_every} steps")
    loop = training.TrainLoop(train_step, lambda s, p: training.lr_at(c.lr, c.warmup, c.min_lr_frac, s, p),
                              opt_, say, checkpoint, evaluate=val if val_rows else None, minutes=c.minutes,
                              max_steps=c.steps, log_every=c.log_every, ckpt_minutes=c.ckpt_minutes,
                              desc="sudoku-selfplay")
    loop.run(training.LoopState(step, secs))
    last.update(loop.last)
    export()
