"""What a policy sees and what it returns. A policy is a pure scoring function over one step."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import BoEConfig
from ..numerics import TokenStats


@dataclass
class StepContext:
    adapter: object  # MDMAdapter
    ids: torch.Tensor  # (B, N) canvas before the step
    attention_mask: torch.Tensor | None
    masked: torch.Tensor  # (B, N) bool
    eligible: torch.Tensor  # (B, N) bool: masked and inside the current block
    b: torch.Tensor  # (B,) positions to commit this step
    t: int  # diffusion time T..1
    T: int
    stats: TokenStats
    cfg: BoEConfig
    generator: torch.Generator
    # (embeds leaf, hidden states with graph) when the policy asked for a grad-enabled forward
    graph: tuple[torch.Tensor, torch.Tensor] | None = None
    # max of b over rows, known on the host from the schedule (avoids a device sync); None: from b
    b_max: int | None = None


@dataclass
class PolicyResult:
    scores: torch.Tensor  # (B, N) float64, higher = commit first; -inf where not selectable
    fallback: torch.Tensor  # (B,) bool
    candidates: torch.Tensor | None = None
    probes: torch.Tensor | None = None
    tis: torch.Tensor | None = None  # (B, N) float32
    grad_norm: torch.Tensor | None = None  # (B, N) float32
    extra_forwards: int = 0
    backwards: int = 0


class Policy:
    name: str = ""
    description: str = ""

    def grad_forward(self, cfg: BoEConfig) -> bool:
        """True when the step's main forward must keep an autograd graph for this policy."""
        return False

    def score(self, ctx: StepContext) -> PolicyResult:
        raise NotImplementedError


def masked_scores(values: torch.Tensor, eligible: torch.Tensor) -> torch.Tensor:
    return torch.where(eligible, values.double(), torch.full_like(values, float("-inf"), dtype=torch.float64))


def no_fallback(ctx: StepContext) -> torch.Tensor:
    return torch.zeros(ctx.ids.shape[0], dtype=torch.bool, device=ctx.ids.device)
