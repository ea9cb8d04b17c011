"""Blocks and the tokens-per-step schedule (semi-autoregressive decoding).

The generation region is the span from the first to the last masked position of the initial
canvas; blocks are contiguous slices of it decoded in order. Each block gets an equal share of the
steps (the first blocks take the remainder) and each block's masks are split evenly over its steps
(the first steps take the remainder), as in LLaDA.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ConfigError


@dataclass
class Schedule:
    blocks: list[tuple[int, int]]  # [start, end) canvas positions
    step_block: list[int]  # block index of each global step
    counts: torch.Tensor  # (B, T) int64: positions committed per row per step

    @property
    def total_steps(self) -> int:
        return len(self.step_block)

    def to_dict(self) -> dict:
        return {"blocks": [list(b) for b in self.blocks], "step_block": list(self.step_block),
                "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, d) -> "Schedule":
        return cls([tuple(b) for b in d["blocks"]], list(d["step_block"]),
                   torch.tensor(d["counts"], dtype=torch.long))


def plan(masked: torch.Tensor, steps: int, block_length: int | None) -> Schedule:
    """masked: (B, N) bool of the initial canvas."""
    if masked.ndim != 2:
        raise ConfigError("canvas", tuple(masked.shape), "must be 2-D (batch, length)")
    any_masked = masked.any(0)
    if not bool(any_masked.any()):
        raise ConfigError("canvas", "no [MASK]", "nothing to decode: the canvas has no masked position")
    idx = torch.nonzero(any_masked).flatten()
    start, end = int(idx[0]), int(idx[-1]) + 1
    region = end - start
    if block_length is None:
        block_length = region
    if region % block_length:
        raise ConfigError("block_length", block_length,
                          f"must divide the generation length {region}")
    n_blocks = region // block_length
    if steps < n_blocks:
        raise ConfigError("steps", steps, f"too few for {n_blocks} blocks (need at least one step per block)")
    blocks = [(start + k * block_length, start + (k + 1) * block_length) for k in range(n_blocks)]
    steps_per_block = [steps // n_blocks + (1 if k < steps % n_blocks else 0) for k in range(n_blocks)]
    B = masked.shape[0]
    counts = torch.zeros(B, steps, dtype=torch.long)
    step_block, t0 = [], 0
    for k, ((s, e), sk) in enumerate(zip(blocks, steps_per_block)):
        m = masked[:, s:e].sum(1).cpu()
        base, rem = m // sk, m % sk
        for j in range(sk):
            counts[:, t0 + j] = base + (j < rem).long()
        step_block += [k] * sk
        t0 += sk
    return Schedule(blocks, step_block, counts)


def plan_in_blocks(masked: torch.Tensor, blocks: list[tuple[int, int]], rate: float) -> Schedule:
    """A schedule over given block boundaries (a finished run's), for canvases whose masks are
    scattered inside them (root repair takes cells back): only the blocks that hold a mask are kept,
    in order, and each gets ceil(its most masks in any row / `rate`) steps (at least one), its masks
    spread over them as `plan` spreads them. masked: (B, N) bool."""
    if not rate > 0:
        raise ConfigError("rate", rate, "must be a positive number of tokens per step")
    B = masked.shape[0]
    kept = [(s, e) for s, e in blocks if bool(masked[:, s:e].any())]
    if not kept:
        raise ConfigError("canvas", "no [MASK]", "nothing to decode: no block holds a masked position")
    cols, step_block = [], []
    for k, (s, e) in enumerate(kept):
        m = masked[:, s:e].sum(1).cpu()
        sk = max(1, int(-(-int(m.max()) // rate)))
        base, rem = m // sk, m % sk
        cols += [base + (j < rem).long() for j in range(sk)]
        step_block += [k] * sk
    return Schedule(kept, step_block, torch.stack(cols, 1).reshape(B, -1))
