"""Restarts: decode, ask the model whether it believes the grid it wrote, and decode again another
way when it does not (issue #29).

    res = restart(model, canvas, policy="view-hop", attempts=2)   # canvas (B, N), decoded together
    res.final        # (B, N) the kept canvas of each row
    res.forwards     # (B,) forwards each row spent: its decodes and its read-backs
    res.attempts     # (B,) decodes each row ran

1. **Decode** with the policy (a restart needs a policy with an `offset` knob: each attempt k
   decodes with `offset` = the first attempt's + k · `stride`, another trajectory).
2. **Read back** the written canvas in `groups` interleaved groups (`readback.grouped_reads_rows`,
   `groups` forwards): each decoded token's log-probability with its group masked.
   A restart keeps what the row's last decode committed before its first guess (`resume`): up to
   there every commit was a sure reading, so only the guesses and what followed them are redone.
3. **Gate.** A row whose every decoded token is read at probability >= `gate` is kept; on hard
   Sudoku val no right grid fell below 0.9 (docs/ordering_gap.md). The others decode again, up to
   `attempts` decodes in all.
4. **Keep** each row's canvas with the highest summed read-back.

No rule of the task and no answer is read: the model judges its own grids. Why an operation over
the loop and not a policy: a policy scores one step of one decode; it cannot keep the grid of one
attempt while it writes the next.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import DecodeConfig
from .errors import ConfigError, finite, is_int
from .readback import grouped_reads_rows
from .sampler import generate
from .trace import Trace


@dataclass
class RestartResult:
    final: np.ndarray  # (B, N) int64: each row's kept canvas
    forwards: np.ndarray  # (B,) float: forwards per row, decodes and read-backs
    attempts: np.ndarray  # (B,) int: decodes each row ran
    kept: np.ndarray  # (B,) int: the attempt whose canvas was kept (0-based)
    read_min: np.ndarray  # (B,) float32: the kept canvas's least likely decoded token (log-prob, read back)
    read_sum: np.ndarray  # (B,) float32: its summed read-back
    traces: list[Trace] = field(default_factory=list)  # one per attempt, over the rows that ran it
    rows: list[np.ndarray] = field(default_factory=list)  # the batch rows of each trace
    mins: list[np.ndarray] = field(default_factory=list)  # per attempt, its rows' least likely read-back
    sums: list[np.ndarray] = field(default_factory=list)  # per attempt, its rows' summed read-back

    def to_dict(self) -> dict:
        return {"forwards": self.forwards.tolist(), "attempts": self.attempts.tolist(), "kept": self.kept.tolist(),
                "read_min": self.read_min.tolist(), "read_sum": self.read_sum.tolist()}


def check(attempts, groups, gate, stride):
    if not is_int(attempts) or not 1 <= attempts <= 16:
        raise ConfigError("attempts", attempts, "must be an integer in [1, 16]")
    if not is_int(groups) or not 1 <= groups <= 81:
        raise ConfigError("groups", groups, "must be an integer in [1, 81]")
    if not finite(gate) or not 0.0 < gate <= 1.0:
        raise ConfigError("gate", gate, "must be in (0, 1]")
    if not is_int(stride) or stride < 1:
        raise ConfigError("stride", stride, "must be a positive integer")


def first_guess_canvas(trace: Trace, fallback: np.ndarray) -> np.ndarray:
    """(R, N): each row's canvas right before the first step that guessed a cell (the view-hop
    policy's `hop_view` signal is 0 there), where every earlier commit was a sure reading; a row that
    never guessed (or a policy that does not say) starts over from `fallback` (R, N)."""
    from .policies.view_hop import HOP_VIEW

    out = np.array(fallback)
    found = np.zeros(len(out), bool)
    for r in trace.records:
        hv = r.signals.get(HOP_VIEW.name)
        if hv is None:
            continue
        guessed = (np.asarray(hv) == 0).any(1) & ~found
        out[guessed] = r.canvas_before[guessed]
        found |= guessed
    return out


def restart(adapter, canvas, *, config: DecodeConfig | None = None, attempts: int = 2, groups: int = 4,
            gate: float = 0.9, stride: int = 8, resume: bool = True, callback=None, **overrides) -> RestartResult:
    """Decode `canvas` (B, N) up to `attempts` times (see the module's docstring). `config` and
    `overrides` set the decode (policy, steps, knobs) as for `generate`; `callback(attempt, rows)`
    is told before each decode. `resume`: a restart keeps the commits its row's last decode made
    before its first guess (sure readings, free to keep) and decodes from there."""
    from .bench.cost import row_costs  # the bench's per-row cost rule (imported late: bench imports core)

    check(attempts, groups, gate, stride)
    config = config or DecodeConfig(policy="view-hop")
    if overrides:
        config = config.replace(**overrides)
    settings = config.settings
    if attempts > 1 and not hasattr(settings, "offset"):
        raise ConfigError("policy", config.policy, "restarts need a policy with an `offset` knob (view-hop) to "
                          "decode another trajectory; any other policy decodes once")
    canvas = torch.as_tensor(canvas, dtype=torch.long)
    if canvas.ndim == 1:
        canvas = canvas[None]
    B = canvas.shape[0]
    decoded = (canvas == adapter.mask_id).numpy()
    final = canvas.numpy().copy()
    fwd = np.zeros(B)
    runs = np.zeros(B, np.int64)
    kept = np.zeros(B, np.int64)
    best = np.full(B, -np.inf, np.float32)
    low = np.full(B, -np.inf, np.float32)
    todo = np.arange(B)
    start = canvas.numpy().copy()  # where each row's next decode starts
    out = RestartResult(final, fwd, runs, kept, low, best)
    log_gate = math.log(gate)
    base = getattr(settings, "offset", 0)
    for k in range(attempts):
        if not len(todo):
            break
        if callback is not None:
            callback(k, todo)
        cfg = config.replace(offset=(base + k * stride) % 16) if k else config
        tr = generate(adapter, canvas=torch.as_tensor(start[todo]), config=cfg)
        out.traces.append(tr)
        out.rows.append(todo.copy())
        got = np.asarray(tr.final_canvas)
        fwd[todo] += row_costs(tr)[0] + groups
        runs[todo] += 1
        read = grouped_reads_rows(adapter, got, decoded[todo], None, groups)
        s = np.nansum(read, 1)
        lo = np.where(decoded[todo].any(1), np.nanmin(np.where(decoded[todo], read, np.inf), 1), 0.0)
        out.mins.append(lo.astype(np.float32))
        out.sums.append(s.astype(np.float32))
        better = s > best[todo]
        idx = todo[better]
        final[idx], best[idx], low[idx], kept[idx] = got[better], s[better], lo[better], k
        if resume:
            start[todo] = first_guess_canvas(tr, canvas.numpy()[todo])
        todo = todo[lo < log_gate]
    return out
