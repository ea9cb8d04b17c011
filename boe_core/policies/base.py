"""What a policy sees and what it returns. A policy is a pure scoring function over one step.

Each policy owns:
- `settings_cls`: one dataclass of its knobs, with `validate()` (errors name the field and value);
- `signals`: the per-position signals it emits (`boe_core.signals.Signal`), recorded in
  `StepRecord.signals` and shown by the explorer without any other file knowing them.
The sampler names no policy: it asks the policy whether its main forward must keep a graph
(`main_forward`) and records whatever `PolicyResult.signals` holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..knobs import knobs_of
from ..numerics import TokenStats
from ..registry import Registry
from ..signals import SIGNALS, Signal


@dataclass
class NoSettings:
    """Settings of a policy without knobs."""

    def validate(self) -> "NoSettings":
        return self


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
    settings: object  # the policy's settings dataclass
    generator: torch.Generator
    # (embeds leaf, hidden states with graph) when the policy asked for a grad-enabled forward
    graph: tuple[torch.Tensor, torch.Tensor] | None = None
    # max of b over rows, known on the host from the schedule (avoids a device sync); None: from b
    b_max: int | None = None
    # masked rows / all rows, known on the host from the schedule
    masked_fraction: float | None = None
    # (B, N) bool: the top-b eligible positions by confidence, what a confidence sampler commits
    # now; computed once per step (the sampler records it, the threshold gate lets it through)
    confidence_pick: torch.Tensor | None = None
    # (B, N) bool: never decoded (prompt, clues, padding); a policy may remask only committed
    # positions outside it
    fixed: torch.Tensor | None = None
    # the last step of the forward budget: every position still masked is committed after it, and
    # a remask is ignored
    final: bool = False
    # the run so far, for revising policies: (B, N) float32 confidence of each token when it was
    # committed (NaN: not committed by the run, or remasked since); (B, N) int64 remasks per position
    commit_confidence: torch.Tensor | None = None
    remasks: torch.Tensor | None = None
    block_span: tuple[int, int] | None = None  # [start, end) of the current block (None: the canvas)
    block: int = 0  # index of the current block
    block_steps_left: int = 1  # its scheduled steps from this one on; at <= 1 remasks are ignored
    # (B, N) int64: the answer's token at each position (-1 where it has none), given only to a
    # policy that reads the answer (`Policy.reads_answer`, a ceiling such as the oracle); None else
    target: torch.Tensor | None = None

    @property
    def committed(self) -> torch.Tensor:
        """(B, N) bool: positions decoded by earlier steps, the ones a policy may remask."""
        done = ~self.masked if self.fixed is None else ~self.masked & ~self.fixed
        return done if self.attention_mask is None else done & self.attention_mask


@dataclass
class PolicyResult:
    scores: torch.Tensor  # (B, N) float64, higher = commit first; -inf where not selectable
    fallback: torch.Tensor  # (B,) bool
    signals: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (B, N), as declared
    extra_forwards: int = 0  # forward passes beyond the step's main one (per sequence)
    backwards: int = 0
    notes: list[str] = field(default_factory=list)  # said once in the step record (e.g. a raised r)
    # (B, N) bool, optional: commit exactly these eligible positions this step (the count may vary
    # per step and row; a row with eligible positions but no commit gets its top-1 by confidence).
    # None: the top-b eligible positions by score (ties by confidence).
    commit: torch.Tensor | None = None
    # (B, N) bool, optional: committed positions (never prompt or fixed cells) turned back into
    # [MASK] after this step's commits
    remask: torch.Tensor | None = None
    # (B, N) int64, optional: the token each committed position takes (read only where committed);
    # None: the step's proposal. For a policy that reads the canvas another way (e.g. a symmetric
    # view of a Sudoku) and commits what that reading is sure of.
    tokens: torch.Tensor | None = None


class Policy:
    name: str = ""
    description: str = ""
    settings_cls: type = NoSettings
    signals: tuple[Signal, ...] = ()
    order: int = 100  # position in menus and preset lists (lower first)
    # reads the answer (StepContext.target): a ceiling for tables, not a decoder; the sampler
    # refuses to run it without a target
    reads_answer: bool = False

    def presets(self) -> dict[str, dict]:
        """Named starting points for the explorer: label -> settings overrides. Default: the
        policy's own name with its defaults."""
        return {self.name: {}}

    def knobs(self):
        """The policy's knobs (`boe_core.knobs.Knob`), from its settings dataclass."""
        return knobs_of(self.settings_cls)

    def main_forward(self, adapter, settings, masked: torch.Tensor, masked_fraction: float):
        """(keep_graph, active_rows): whether the step's main forward must keep an autograd graph
        from the input embeddings for this policy, and the ActiveQueryAttention row set for it
        (None = dense)."""
        return False, None

    def revises(self, settings) -> bool:
        """Whether the policy may remask tokens once nothing is masked: then the loop runs another
        step on the full canvas (within the budget), and ends when such a step remasks nothing."""
        return False

    def score(self, ctx: StepContext) -> PolicyResult:
        raise NotImplementedError


def masked_scores(values: torch.Tensor, eligible: torch.Tensor) -> torch.Tensor:
    return torch.where(eligible, values.double(), torch.full_like(values, float("-inf"), dtype=torch.float64))


def no_fallback(ctx: StepContext) -> torch.Tensor:
    return torch.zeros(ctx.ids.shape[0], dtype=torch.bool, device=ctx.ids.device)


# --- the registry -----------------------------------------------------------------------------------
def _declare_signals(policy: Policy) -> None:
    for s in policy.signals:
        SIGNALS.register(s)


def _drop_signals(policy: Policy) -> None:
    """Forget the signals of a removed policy that no registered policy still declares."""
    still = {s.name for p in POLICIES.values() for s in p.signals}
    for s in policy.signals:
        if s.name not in still:
            SIGNALS.unregister(s.name)


# Built-ins: boe_core.policies imports each of its modules, and each registers its policies.
POLICIES: Registry[Policy] = Registry("policy", on_register=_declare_signals,
                                      on_unregister=_drop_signals)


def register(policy: Policy) -> Policy:
    """Add a policy (an instance with `name`, `settings_cls`, `signals` and `score`). Its signals
    are declared with it."""
    if not isinstance(policy, Policy) and not callable(getattr(policy, "score", None)):
        raise ValueError(f"{policy!r} is not a policy (no score method)")
    return POLICIES.register(policy)


def get_policy(name: str) -> Policy:
    """The registered policy `name`; a ConfigError naming the known ones otherwise."""
    return POLICIES.get(name)
