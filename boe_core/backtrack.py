"""Backtracking over view-hop's guesses (issue #29): undo the latest guess when the model doubts
what it has written.

    res = backtrack(model, canvas)          # canvas (B, N) Sudoku puzzles; each row searched alone
    res.final      # (B, N) the kept grid of each row
    res.forwards   # (B,) forwards each row spent: its decoding steps and every read-back
    res.events[b]  # what happened to row b: each check that doubted, and each guess undone

A `view-hop` decode commits only what the canvas or one of its symmetric views is sure of, except at
a *guess*: a state where no view read was sure, where it commits the proposal the readings believe
most. Along view-hop's decodes of hard Sudoku val every first error but one in 85 was a guess
(docs/ordering_gap.md), so the search keeps the guesses on a stack:

1. **Check before each guess** (from the second on): the cells decoded so far are read back in
   `groups` interleaved groups (`groups` forwards, `readback.grouped_pll`). If one reads
   below `doubt` (0.1), the latest guess is undone. On hard val a read at or below 0.1 came only
   from canvases that held a wrong digit, and caught about two in five of those.
2. **Check the finished grid** in `final_groups` groups: kept when every digit reads ≥ `gate`
   (0.9; no right grid of hard val fell below it). Otherwise the latest guess is undone.
3. **Undo:** back to the canvas the latest guess was made on, where its cell takes the runner-up
   digit of that step instead; the decode goes on from there. At most `flips` undos a row.
4. Of the finished grids, the one the model believes most (summed read-back) is kept.

No rule of the task and no answer is read. Each row is decoded on its own (batch of one): the
stack, the checks and the undos are per row, and so is the cost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import DecodeConfig
from .errors import ConfigError, finite, is_int
from .readback import grouped_pll
from .sampler import init_state, step


@dataclass
class BacktrackSettings:
    groups: int = 2  # read-back groups of the check before each guess
    doubt: float = 0.1  # a digit read below this before a guess undoes the latest guess
    flips: int = 6  # undos a row may make
    final_groups: int = 4  # read-back groups of a finished grid
    gate: float = 0.9  # a finished grid is kept when every digit reads at least this

    def validate(self):
        for name in ("groups", "final_groups"):
            v = getattr(self, name)
            if not is_int(v) or not 1 <= v <= 81:
                raise ConfigError(name, v, "must be an integer in [1, 81]")
        if not is_int(self.flips) or not 0 <= self.flips <= 64:
            raise ConfigError("flips", self.flips, "must be an integer in [0, 64]")
        for name in ("doubt", "gate"):
            v = getattr(self, name)
            if not finite(v) or not 0.0 < v <= 1.0:
                raise ConfigError(name, v, "must be in (0, 1]")
        return self


@dataclass
class BacktrackResult:
    final: np.ndarray  # (B, N) int64: each row's kept grid
    forwards: np.ndarray  # (B,) float: forwards per row, decoding steps and read-backs
    flips: np.ndarray  # (B,) int: guesses undone
    read_min: np.ndarray  # (B,) float32: the kept grid's least likely digit (log-prob, read back)
    read_sum: np.ndarray  # (B,) float32: its summed read-back
    events: list[list[dict]] = field(default_factory=list)  # per row, in order

    def to_dict(self) -> dict:
        return {"forwards": self.forwards.tolist(), "flips": self.flips.tolist(), "read_min": self.read_min.tolist(),
                "read_sum": self.read_sum.tolist(), "events": self.events}


@dataclass
class _Guess:
    canvas: torch.Tensor  # (N,) the canvas the guess was made on
    cell: int
    digit: int
    runner_up: int | None  # the runner-up digit at the cell on that step (None: not in the record's top-k)
    step: int  # decoding steps of the row before it (for the events)


def _guessed_cell(rec) -> int | None:
    """The cell a view-hop step guessed (its `hop_view` is 0 there), or None for a sure step."""
    hv = rec.signals.get("hop_view")
    if hv is None:
        return None
    chosen = rec.chosen[0]
    if not chosen.any() or not np.isfinite(hv[0]).any() or not (hv[0][chosen] == 0).all():
        return None
    return int(np.flatnonzero(chosen)[0])


def _search_row(adapter, puzzle: torch.Tensor, config: DecodeConfig, s: BacktrackSettings, digits: set[int]):
    blanks = (puzzle == adapter.mask_id).cpu().numpy()
    stack: list[_Guess] = []
    events: list[dict] = []
    fwd, flips, steps = 0.0, 0, 0
    best, best_sum, best_min = puzzle.clone(), -math.inf, -math.inf
    log_doubt, log_gate = math.log(s.doubt), math.log(s.gate)

    def undo(why: str):
        """Pop the latest guess and return the canvas to go on from (None: nothing left to undo)."""
        nonlocal flips
        while stack:
            g = stack.pop()
            if g.runner_up is None:
                continue
            flips += 1
            events.append({"undo": why, "step": g.step, "cell": g.cell, "from": g.digit, "to": g.runner_up})
            out = g.canvas.clone()
            out[g.cell] = g.runner_up
            return out
        return None

    canvas = puzzle.clone()
    while True:
        if bool((canvas == adapter.mask_id).any()):
            state = init_state(adapter, canvas[None], config)
            doubted = None
            while not state.done:
                before = state.canvas[0].clone()
                state, rec = step(adapter, state, config)
                fwd += rec.n_forward
                steps += 1
                cell = _guessed_cell(rec)
                if cell is None:
                    continue
                if stack and flips < s.flips:  # check the canvas this guess was made on
                    seen = before.cpu().numpy()
                    _, lo = grouped_pll(adapter, seen, blanks & (seen != adapter.mask_id), None, s.groups)
                    fwd += s.groups
                    if lo < log_doubt:
                        events.append({"doubt": "before a guess", "step": steps, "least": math.exp(lo)})
                        doubted = undo("before a guess")
                        if doubted is not None:
                            break
                digit = int(rec.canvas_after[0][cell])
                alt = next((int(t) for t in rec.topk_ids[0][cell] if int(t) != digit and int(t) in digits), None)
                stack.append(_Guess(before, cell, digit, alt, steps))
            if doubted is not None:
                canvas = doubted
                continue
            canvas = state.canvas[0]
        total, lo = grouped_pll(adapter, canvas.cpu().numpy(), blanks, None, s.final_groups)
        fwd += s.final_groups
        if total > best_sum:
            best, best_sum, best_min = canvas.clone(), total, lo
        if lo >= log_gate or flips >= s.flips:
            break
        events.append({"doubt": "finished grid", "step": steps, "least": math.exp(lo)})
        nxt = undo("finished grid")
        if nxt is None:
            break
        canvas = nxt
    return best, fwd, flips, best_min, best_sum, events


def backtrack(adapter, canvas, *, config: DecodeConfig | None = None, settings: BacktrackSettings | None = None,
              callback=None, **overrides) -> BacktrackResult:
    """Search each row of `canvas` (B, N) as the module's docstring says. `config` and `overrides`
    set the decode (a `view-hop` policy, its knobs, steps; as for `generate`); `settings` the
    search; `callback(row)` is told before each row."""
    from .tasks.sudoku import digit_ids

    s = (settings or BacktrackSettings()).validate()
    config = config or DecodeConfig(policy="view-hop", steps=81)
    if overrides:
        config = config.replace(**overrides)
    config = config.validate()
    if config.policy != "view-hop":
        raise ConfigError("policy", config.policy, "backtracking undoes view-hop's guesses: use policy='view-hop'")
    canvas = torch.as_tensor(canvas, dtype=torch.long)
    if canvas.ndim == 1:
        canvas = canvas[None]
    digits = set(digit_ids(adapter.tokenizer))
    B = canvas.shape[0]
    out = BacktrackResult(np.zeros(tuple(canvas.shape), np.int64), np.zeros(B), np.zeros(B, np.int64),
                          np.zeros(B, np.float32), np.zeros(B, np.float32))
    with torch.no_grad():
        for b in range(B):
            if callback is not None:
                callback(b)
            final, fwd, flips, lo, total, events = _search_row(adapter, canvas[b].to(adapter.device), config, s, digits)
            out.final[b], out.forwards[b], out.flips[b] = final.cpu().numpy(), fwd, flips
            out.read_min[b], out.read_sum[b] = lo, total
            out.events.append(events)
    return out
