"""Recipe `sudoku-planner`: train the planner head of the shipped Sudoku TinyMDM, a copy of the model
fine-tuned on the states where its confidence order goes wrong (issue #29); the `planner` policy
reads it with `head=true` (boe_core/policies/planner.py).

Where the states come from. The probe-order study found that confidence's pick is never wrong at a
state whose top confidence is at least 0.99, and wrong about a quarter of the time below it. The
`planner` policy therefore commits every cell at or above τ (0.99) without the head, and asks
the head only at a state that has none: an *uncertain* state. The head learns those states:
* puzzles come from the `sudoku` recipe's training grids (seed 0, a random symmetry), with
  U{--min-clues..--max-clues} clues and a unique solution; never the val / test / hard splits;
* each puzzle is walked in the oracle's order by the frozen model: every cell at or above τ whose
  proposal is right is committed at once; at an uncertain state the state is recorded, and one
  right proposal is committed (the most confident right one, or with --explore a random one of
  the three most confident right ones), so every recorded state is one a right decode visits;
* each sampled state and its solution go through one random Sudoku symmetry (--augment), so the
  buffer's states are never seen twice alike;
* loss: the copy's cross-entropy of the solution's digit at every masked cell, plus `planner_loss`
  on its log-probability of the *model's* proposal (is it right? and is the top one right?).
The model is frozen; only the copy trains. Every checkpoint logs the `planner` decode on the first
--eval-n hard *val* puzzles (solve rate and forwards), the split its settings are chosen on.

    python -m boe_core.train sudoku-planner --minutes 40
    python -m boe_core.train sudoku-planner --minutes 40 --resume
    python -m boe_core.train sudoku-planner --export-only

Exports to runs/sudoku_planner/export. The policy reads a head from <model folder>/planner; the
shipped `sudoku` model has none: on hard val a copy trained 20 and 65 CPU-minutes did no better
than the model's own symmetric views within the same compute (docs/ordering_gap.md).
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ... import paths
from ...errors import ConfigError
from ...models import training
import torch.nn.functional as F
from ...models.tiny_mdm import TinyMDM
from ...tasks import sudoku as S
from ..augment import augment_batch, augment_together
from ..config import OptimConfig, opt
from .sudoku import make_pool


@dataclass
class SudokuPlannerConfig(OptimConfig):
    """Train a planner head for the Sudoku TinyMDM at its uncertain states (boe_core/train/recipes/sudoku_planner.py)."""
    lr: float = opt(2e-4)
    warmup: int = opt(50)
    min_lr_frac: float = opt(0.05, "cosine decay floor, a fraction of --lr")
    weight_decay: float = opt(0.01)
    model: str = opt(None, "the served model folder (default: assets/models/sudoku); frozen")
    run_dir: str = opt(None, "checkpoint and log folder (default: runs/sudoku_planner)")
    export_dir: str = opt(None, "export folder (default: <run-dir>/export)")
    tau: float = opt(0.99, "cells at or above this confidence are committed without the head (the policy's τ)")
    listwise: float = opt(1.0, "weight of the top-must-be-right term")
    augment: int = opt(1, "1: each sampled state and its solution go through one random Sudoku symmetry")
    explore: float = opt(0.5, "share of uncertain walk steps that commit a random one of the 3 most confident right cells")
    batch_size: int = opt(64)
    walk_puzzles: int = opt(64, "puzzles walked per refresh")
    refresh_every: int = opt(10, "optimiser steps between refreshes")
    buffer: int = opt(60000, "uncertain states kept (oldest dropped)")
    min_clues: int = opt(23)
    max_clues: int = opt(28)
    pool_size: int = opt(20000, "training solution grids (the `sudoku` recipe's pool and seed)")
    val: str = opt(None, "puzzles decoded at checkpoints (default: assets/data/sudoku/hard_val.jsonl)")
    eval_n: int = opt(100, "val puzzles decoded at each checkpoint (0 = off)")
    steps: int = opt(None, "step budget (schedule length)", type=int)
    minutes: float = opt(None, "training-time budget (schedule length)", type=float)
    threads: int = opt(1)
    log_every: int = opt(50)
    ckpt_minutes: float = opt(5.0)
    resume: bool = opt(False, "continue from <run-dir>/ckpt.pt")
    export_only: bool = opt(False, "export <run-dir>/ckpt.pt and exit")


class FrozenModel:
    """The served model's forward as the planner's training reads it: digit probabilities."""

    def __init__(self, model: TinyMDM, mask_id: int, digit_ids: torch.Tensor):
        self.model, self.mask_id = model, mask_id
        self.not_digit = torch.ones(model.config.vocab_size, dtype=torch.bool)
        self.not_digit[digit_ids] = False

    @torch.no_grad()
    def __call__(self, x: torch.Tensor):
        """x (B, 81) -> (probs (B, 81, V) float32, zero off the digits; masked (B, 81) bool)."""
        probs = self.model(input_ids=x).float().masked_fill(self.not_digit, float("-inf")).softmax(-1)
        return probs, x == self.mask_id


@torch.no_grad()
def walk_uncertain_states(fm: FrozenModel, canvas: torch.Tensor, target: torch.Tensor, gate: float,
                          explore: float, g: torch.Generator) -> torch.Tensor:
    """Walk `canvas` (R, 81) in the oracle's order (see the module doc) and return the uncertain
    states it visits (S, 81) with their rows' index (S,) into `canvas`."""
    x = canvas.clone()
    states, rows = [], []
    alive = torch.ones(x.shape[0], dtype=torch.bool)
    while True:
        probs, m = fm(x)
        live = m.any(1) & alive
        if not live.any():
            break
        conf, arg = probs.max(-1)
        right = m & (arg == target)
        sure = right & (conf >= gate)
        alive &= right.any(1) | ~m.any(1)  # no right proposal left: the order cannot save it
        # the head is asked where no masked cell clears the gate: those states are recorded
        asked = live & alive & ~(m & (conf >= gate)).any(1)
        if asked.any():
            states.append(x[asked].clone())
            rows.append(asked.nonzero().squeeze(1))
        # one right cell where no right one clears the gate (rarely, a wrong one does)
        unsure_row = ~sure.any(1)
        # at an uncertain state, one right cell: the most confident, or a random one of the top 3
        score = torch.where(right, conf, torch.full_like(conf, -1.0))
        top3 = score.topk(3, dim=1)
        n_right = (top3.values > 0).sum(1).clamp(min=1)
        pick_rank = torch.where(torch.rand(x.shape[0], generator=g) < explore,
                                (torch.rand(x.shape[0], generator=g) * n_right).long(), torch.zeros_like(n_right))
        one = torch.zeros_like(m)
        one.scatter_(1, top3.indices.gather(1, pick_rank[:, None]), True)
        commit = torch.where(unsure_row[:, None], one & right, sure) & (live & alive)[:, None]
        x = torch.where(commit, target, x)
    if not states:
        return torch.zeros(0, x.shape[1], dtype=x.dtype), torch.zeros(0, dtype=torch.long)
    return torch.cat(states), torch.cat(rows)


def planner_loss(logits: torch.Tensor, right: torch.Tensor, masked: torch.Tensor, listwise: float = 1.0):
    """Binary cross-entropy of "the proposal is right" over the masked positions, plus `listwise` ×
    the negative log of the softmax mass (over masked positions) on the right ones, for states that
    have one: the policy commits the top position, so the top must be right.
    logits (B, N) float32; right, masked (B, N) bool. Returns (loss, top-1 right rate)."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits[masked], right[masked].float())
    neg = torch.finfo(logits.dtype).min
    all_ = torch.logsumexp(logits.masked_fill(~masked, neg), dim=1)
    good = torch.logsumexp(logits.masked_fill(~(masked & right), neg), dim=1)
    has = (masked & right).any(1)
    lw = (all_ - good)[has].mean() if bool(has.any()) else logits.sum() * 0.0
    top = logits.masked_fill(~masked, neg).argmax(1)
    return bce + listwise * lw, right.gather(1, top[:, None]).squeeze(1).float().mean()


def proposal_log_probs(head: TinyMDM, x: torch.Tensor, proposals: torch.Tensor, fm: FrozenModel):
    """(log p over the digits (B, 81, V), log p of the model's proposals (B, 81)) as the copy reads x."""
    lp = head(input_ids=x).float().masked_fill(fm.not_digit, float("-inf")).log_softmax(-1)
    return lp, lp.gather(-1, proposals[..., None]).squeeze(-1)


@torch.no_grad()
def planner_decode(fm: FrozenModel, head: TinyMDM, canvas: torch.Tensor, tau: float):
    """The `planner` policy's rule with head=true, views=0, as a bare loop for checkpoint evals:
    commit every cell at or above τ; where a row has none, the cell whose proposal the copy believes
    most. Returns (final canvas, forwards of the model, forwards of the copy) per row."""
    x = canvas.clone()
    fwd = torch.zeros(x.shape[0], dtype=torch.long)
    heads = torch.zeros(x.shape[0], dtype=torch.long)
    while True:
        probs, m = fm(x)
        live = m.any(1)
        if not live.any():
            break
        fwd += live.long()
        conf, arg = probs.max(-1)
        sure = m & (conf >= tau)
        ask = live & ~sure.any(1)
        commit = sure.clone()
        if ask.any():
            _, sc = proposal_log_probs(head, x[ask], arg[ask], fm)
            sc = sc.masked_fill(~m[ask], float("-inf"))
            one = torch.zeros_like(m[ask])
            one.scatter_(1, sc.argmax(1, keepdim=True), True)
            commit[ask] = one
            heads += ask.long()
        x = torch.where(commit, arg, x)
    return x, fwd, heads


@torch.no_grad()
def pick_accuracy(fm: FrozenModel, head, states: torch.Tensor, target: torch.Tensor) -> dict:
    """At uncertain states (S, 81) with their solutions: how often the head's top cell, and
    confidence's, holds a right proposal."""
    if not len(states):
        return {}
    probs, m = fm(states)
    arg = probs.argmax(-1)
    right = m & (arg == target)
    sc = proposal_log_probs(head, states, arg, fm)[1].masked_fill(~m, float("-inf"))
    conf = probs.max(-1).values.masked_fill(~m, -1.0)
    top = lambda v: right.gather(1, v.argmax(1, keepdim=True)).float().mean().item()  # noqa: E731
    return {"val_states": len(states), "val_head_top1_right": round(top(sc), 3),
            "val_confidence_top1_right": round(top(conf), 3)}


def _check(c: SudokuPlannerConfig) -> None:
    if not c.export_only and c.steps is None and c.minutes is None:
        raise ConfigError("steps", None, "give --steps and/or --minutes")
    if not 0.0 < c.tau <= 1.0:
        raise ConfigError("tau", c.tau, "must be in (0, 1]")
    if not 0.0 <= c.explore <= 1.0:
        raise ConfigError("explore", c.explore, "must be in [0, 1]")
    if not 17 <= c.min_clues <= c.max_clues <= 80:
        raise ConfigError("min_clues", (c.min_clues, c.max_clues), "need 17 <= min-clues <= max-clues <= 80")


def run(c: SudokuPlannerConfig) -> None:
    _check(c)
    c.model = c.model or str(paths.models_dir() / "sudoku")
    c.run_dir = c.run_dir or str(paths.runs_dir() / "sudoku_planner")
    c.export_dir = c.export_dir or str(Path(c.run_dir) / "export")
    c.val = c.val or str(paths.data_dir() / "sudoku" / "hard_val.jsonl")
    torch.set_num_threads(c.threads)
    tok = S.sudoku_tokenizer()
    run_dir = Path(c.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    say = training.run_logger(run_dir)

    model = TinyMDM.from_pretrained(c.model)
    for p in model.parameters():
        p.requires_grad_(False)
    lut = S.digit_lookup(tok)
    fm = FrozenModel(model, tok.mask_id, torch.tensor(S.digit_ids(tok)))
    head = TinyMDM.from_pretrained(c.model)  # the copy that trains
    for p in head.parameters():
        p.requires_grad_(True)
    decay = [p for n, p in head.named_parameters() if p.dim() >= 2 and "emb" not in n]
    other = [p for n, p in head.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt_ = torch.optim.AdamW([{"params": decay, "weight_decay": c.weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=c.lr, betas=(0.9, 0.98))
    g = torch.Generator().manual_seed(c.seed + 29)
    rng = random.Random(4_000_000 + c.seed)  # clue removal; grids come from the training pool
    step, secs = 0, 0.0
    buf = {"states": torch.zeros(0, 81, dtype=torch.long), "targets": torch.zeros(0, 81, dtype=torch.long)}
    if (c.resume or c.export_only) and ckpt_path.is_file():
        ck = training.load_rollout_ckpt(ckpt_path, {"head": head}, opt_, g, rng)
        step, secs, buf = ck["step"], ck["train_seconds"], ck["buffer"]
        say(f"resume at step {step} ({secs / 60:.1f} train-min), {len(buf['states'])} buffered states")
    elif c.export_only:
        raise ConfigError("export_only", True, f"no checkpoint at {ckpt_path}")
    else:
        say(f"start: a copy of {c.model}, {head.num_parameters()} parameters, args {json.dumps(asdict(c))}")
    last: dict = {}

    def save_ckpt():
        training.save_rollout_ckpt(ckpt_path, {"head": head}, opt_, g, rng, step, secs, asdict(c), buffer=buf)

    def export():
        out = Path(c.export_dir)
        head.save_pretrained(out)
        info = {"recipe": "sudoku-planner", "serves": c.model, "steps": step, "train_minutes": round(secs / 60, 2),
                "batch_size": c.batch_size, "lr": c.lr, "seed": c.seed, "tau": c.tau, "explore": c.explore,
                "clues": [c.min_clues, c.max_clues], "params": head.num_parameters(),
                "machine": f"CPU, {c.threads} thread(s)", "last": last,
                "command": "python -m boe_core.train sudoku-planner " + " ".join(
                    f"--{k.replace('_', '-')} {v}" for k, v in asdict(c).items()
                    if k in ("minutes", "steps") and v is not None)}
        (out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
        say(f"exported step {step} to {out}")

    if c.export_only:
        return export()

    grids = make_pool(c.pool_size, 0, run_dir / f"pool_0_{c.pool_size}.pt")
    value_of = torch.zeros(model.config.vocab_size, dtype=torch.long)  # token id -> digit (mask -> 0)
    value_of[lut[1:]] = torch.arange(1, 10)
    val_rows = []
    if c.eval_n and Path(c.val).is_file():
        val_rows = [json.loads(l) for l in Path(c.val).read_text().splitlines() if l.strip()][: c.eval_n]

    def refresh():
        idx = torch.randint(0, grids.shape[0], (c.walk_puzzles,), generator=g)
        sols = [S.grid_to_str(row.tolist()) for row in augment_batch(grids[idx], g)]
        puzzles = [S.make_puzzle(s, rng, rng.randint(c.min_clues, c.max_clues)) for s in sols]
        canvas = torch.stack([S.puzzle_to_canvas(p, tok)[0] for p in puzzles])
        target = lut[torch.tensor([S.parse_grid(s) for s in sols])]
        states, rows = walk_uncertain_states(fm, canvas, target, c.tau, c.explore, g)
        buf["states"] = torch.cat([buf["states"], states])[-c.buffer:]
        buf["targets"] = torch.cat([buf["targets"], target[rows]])[-c.buffer:]

    def train_step(i):
        if i % c.refresh_every == 0 or len(buf["states"]) < c.batch_size:
            refresh()
            while len(buf["states"]) < c.batch_size:
                refresh()
        j = torch.randint(0, len(buf["states"]), (c.batch_size,), generator=g)
        x, tgt = buf["states"][j], buf["targets"][j]
        if c.augment:  # a fresh symmetry per draw: the buffer's states are seen many times, never twice alike
            xv, tv = augment_together(value_of[x], value_of[tgt], generator=g)
            x, tgt = lut[xv], lut[tv]
        probs, m = fm(x)
        right = m & (probs.argmax(-1) == tgt)
        head.train()
        with torch.enable_grad():
            lp, scores = proposal_log_probs(head, x, probs.argmax(-1), fm)
            loss, top_right = planner_loss(scores, right, m, c.listwise)
            loss = loss + F.nll_loss(lp[m], tgt[m])  # and the solution's digit at every masked cell
        training.optimizer_step(head, opt_, loss, c.grad_clip)
        conf_top = probs.max(-1).values.masked_fill(~m, -1).argmax(1)
        conf_right = right.gather(1, conf_top[:, None]).float().mean()
        return training.StepOut(loss.item(), {"top1_right": top_right.item(), "conf_top1_right": conf_right.item(),
                                              "buffer": float(len(buf["states"]))})

    val_states: dict = {}

    def val():
        head.eval()
        canvas = torch.stack([S.puzzle_to_canvas(r["puzzle"], tok)[0] for r in val_rows])
        x, fwd, heads = planner_decode(fm, head, canvas, c.tau)
        grids_ = [S.canvas_to_grid(row, tok) for row in x]
        if not val_states:  # the val puzzles' uncertain states along the oracle's order (no exploring)
            target = lut[torch.tensor([S.parse_grid(r["solution"]) for r in val_rows])]
            st, idx = walk_uncertain_states(fm, canvas, target, c.tau, 0.0, torch.Generator().manual_seed(0))
            val_states.update(states=st, target=target[idx])
        r = {"val_solve_rate": round(S.solve_rate(grids_, [r["solution"] for r in val_rows]), 3),
             "val_forwards": round(fwd.float().mean().item(), 1), "val_head_forwards": round(heads.float().mean().item(), 1),
             **pick_accuracy(fm, head, val_states["states"], val_states["target"]), "val": c.val, "val_n": len(val_rows)}
        last.update(r)
        head.train()
        return r

    def checkpoint(st):
        nonlocal step, secs
        step, secs = st.step, st.elapsed
        save_ckpt()
        export()

    loop = training.TrainLoop(train_step, lambda s, p: training.lr_at(c.lr, c.warmup, c.min_lr_frac, s, p),
                              opt_, say, checkpoint, evaluate=val if val_rows else None, minutes=c.minutes,
                              max_steps=c.steps, log_every=c.log_every, ckpt_minutes=c.ckpt_minutes,
                              desc="sudoku-planner")
    loop.run(training.LoopState(step, secs))
    last.update(loop.last)
    export()
