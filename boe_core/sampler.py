"""The decoding loop: a pure ``step(state) -> (state, record)`` and a generator over it.

The CLI, the explorer and the tests all drive this same loop. Everything runs under ``no_grad``;
only a policy that asks for it opens a grad scope (BoE's scorer, and the step's main forward when
the policy's ``main_forward`` says so, so that forward is reused instead of repeated). The loop
names no policy: it records whatever signals the policy declares and returns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import torch

from .canvas import check_canvas, prompt_canvas
from .config import DecodeConfig
from .errors import ConfigError
from .numerics import token_stats, top_mask
from .policies import StepContext, get_policy
from .row_streams import PROPOSALS, row_columns, row_generators, score_per_row
from .schedule import Schedule, plan
from .trace import StepRecord, Trace


@dataclass
class DecodeState:
    canvas: torch.Tensor  # (B, N) int64
    fixed: torch.Tensor  # (B, N) bool
    attention_mask: torch.Tensor | None
    schedule: Schedule
    step: int = 0
    masked_left: int | None = None  # masks on the canvas (None: not known, only the budget ends it)
    revise: bool = False  # the policy may still remask on a full canvas
    # what revising policies read of the run so far: (B, N) float32 confidence of each token when
    # it was committed (NaN: never committed, or remasked since), (B, N) int64 remasks per position
    commit_confidence: torch.Tensor | None = None
    remasks: torch.Tensor | None = None
    # (B, N) int64: the answer's tokens (-1: none), kept only for a policy that reads the answer
    target: torch.Tensor | None = None

    @property
    def done(self) -> bool:
        """The budget of steps (main forwards) is spent, or nothing is masked and the policy has
        nothing left to revise."""
        return self.step >= self.schedule.total_steps or (self.masked_left == 0 and not self.revise)


def step_seed(seed: int, step: int) -> int:
    """Each step draws from its own generator, so any step can be replayed from its canvas alone."""
    return (seed * 1_000_003 + step * 7919 + 1) % (2**63 - 1)


def init_state(adapter, canvas: torch.Tensor, config: DecodeConfig, attention_mask=None,
               target=None) -> DecodeState:
    """Validate everything and plan the schedule, before any model compute. `target`: the answer's
    token ids (B, N), -1 where none; required by (and only kept for) a policy that reads the answer."""
    config.validate()
    canvas = check_canvas(adapter, canvas, attention_mask).to(adapter.device)
    if attention_mask is not None:
        attention_mask = attention_mask.to(device=adapter.device, dtype=torch.bool).reshape(canvas.shape)
    masked = canvas == adapter.mask_id
    if attention_mask is not None:
        masked &= attention_mask
    target = _answer_target(get_policy(config.policy), config.policy, target, canvas)
    schedule = plan(masked.cpu(), config.steps, config.block_length)
    return DecodeState(canvas, ~masked, attention_mask, schedule, 0, int(masked.sum()), target=target)


def _answer_target(policy, name: str, target, canvas: torch.Tensor) -> torch.Tensor | None:
    """The target for a policy that reads the answer (checked), None for any other policy; a
    ConfigError when such a policy has no answer to read (free text, a prompt without a checker)."""
    if not getattr(policy, "reads_answer", False):
        return None
    if target is None:
        raise ConfigError("policy", name, "reads the answer (a ceiling, not a decoder), and this run has none: "
                                          "use it on a task with answers (the bench's sudoku or reasoning tasks)")
    target = torch.as_tensor(target, dtype=torch.long).to(canvas.device)
    if target.ndim == 1:
        target = target[None]
    if tuple(target.shape) != tuple(canvas.shape):
        raise ConfigError("target", tuple(target.shape), f"must match the canvas {tuple(canvas.shape)}")
    return target


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_context(adapter, state: DecodeState, config: DecodeConfig, force_graph: bool = False,
                  policy=None) -> StepContext:
    """Run the step's forward and gather what a policy sees. When the policy asks for it (or
    ``force_graph``) the forward keeps an autograd graph from the input embeddings (sparse over
    the policy's active rows under AQA)."""
    policy = policy or get_policy(config.policy)  # the step passes the one it looked up
    ids, am = state.canvas, state.attention_mask
    masked = ids == adapter.mask_id
    if am is not None:
        masked &= am
    masked_host = masked.cpu()  # one copy to the host: the per-step facts below read it without syncs
    k, b_host, block_left = current_block(state.schedule, state.step, masked_host)
    s, e = state.schedule.blocks[k]
    eligible = torch.zeros_like(masked)
    eligible[:, s:e] = masked[:, s:e]
    b = b_host.to(ids.device)
    b_max = int(b_host.max())
    masked_fraction = float(masked_host.sum()) / masked.numel()
    T = state.schedule.total_steps
    gen = torch.Generator(device=adapter.device).manual_seed(step_seed(config.seed, state.step))
    keep_graph, active = policy.main_forward(adapter, config.settings, masked, masked_fraction)
    graph = None
    if keep_graph or force_graph:
        with torch.enable_grad():
            emb = adapter.embed(ids).detach().requires_grad_(True)
            h = adapter.hidden(emb, am, active if keep_graph else None)
        logits = adapter.head(h.detach()[masked])
        graph = (emb, h)
    else:
        logits = adapter.head(adapter.hidden(adapter.embed(ids), am)[masked])
    # Gumbel noise per row (its own stream), so a sampled proposal does not depend on the batch
    noise = gen if config.temperature <= 0 else row_generators(
        config.seed, state.step, ids, row_columns(ids, am), PROPOSALS)
    stats = token_stats(logits, adapter.suppressed_ids, config.temperature, noise, config.topk_record, masked)
    # what a confidence sampler would commit from this same canvas: free, the forward is shared
    confidence_pick = top_mask(stats.confidence, eligible, b)
    cc, remasks = run_memory(state)
    return StepContext(adapter, ids, am, masked, eligible, b, T - state.step, T, stats, config.settings, gen,
                       graph, b_max, masked_fraction, confidence_pick, state.fixed, state.step == T - 1, cc, remasks,
                       (s, e), k, block_left, target=state.target)


def run_memory(state: DecodeState) -> tuple[torch.Tensor, torch.Tensor]:
    """(commit confidence, remasks per position) of a state, empty ones for a fresh state."""
    cc = state.commit_confidence
    if cc is None:
        cc = torch.full(state.canvas.shape, float("nan"), dtype=torch.float32, device=state.canvas.device)
    rm = state.remasks
    if rm is None:
        rm = torch.zeros(state.canvas.shape, dtype=torch.long, device=state.canvas.device)
    return cc, rm


def edit_state(state: DecodeState, where: torch.Tensor, tokens: torch.Tensor, mask_id: int,
               confidence: torch.Tensor | None = None) -> DecodeState:
    """`state` with the (B, N) bool `where` cells set to `tokens` (B, N); the mask id takes a cell
    back. The run's memory follows the canvas: a taken-back cell forgets its commit confidence, a
    replaced one takes `confidence` (B, N) float32 (NaN when not given). Remask counts are kept:
    an edit is the user's, not the policy's."""
    where = where.to(device=state.canvas.device, dtype=torch.bool)
    canvas = torch.where(where, tokens.to(state.canvas), state.canvas)
    cc, rm = run_memory(state)
    new = torch.full_like(cc, float("nan")) if confidence is None else confidence.to(cc)
    cc = torch.where(where & (canvas != mask_id), new, cc)
    cc = torch.where(where & (canvas == mask_id), torch.full_like(cc, float("nan")), cc)
    still = canvas == mask_id
    if state.attention_mask is not None:
        still &= state.attention_mask
    return replace(state, canvas=canvas, masked_left=int(still.sum()), commit_confidence=cc, remasks=rm)


def current_block(schedule: Schedule, step: int, masked: torch.Tensor) -> tuple[int, torch.Tensor, int]:
    """(block, b, steps left): the first block that still holds a mask in any row (blocks hold: a block is
    finished before the next opens; the last block when nothing is masked), and the default number
    of commits per row: the block's masks spread evenly over its scheduled steps left, the first
    steps taking the remainder (all of them once its scheduled steps are spent). On schedule this
    is exactly the planned count; it also re-spreads masks a policy put back or committed early.
    Steps left: the block's scheduled steps from this one on (0 once they are spent).
    `masked`: (B, N) bool on the host."""
    k = len(schedule.blocks) - 1
    for j, (s, e) in enumerate(schedule.blocks):
        if bool(masked[:, s:e].any()):
            k = j
            break
    s, e = schedule.blocks[k]
    left = sum(1 for j in schedule.step_block[step:] if j == k)
    m = masked[:, s:e].sum(1).long()
    return k, (m + max(left, 1) - 1) // max(left, 1), left


@torch.no_grad()
def step(adapter, state: DecodeState, config: DecodeConfig) -> tuple[DecodeState, StepRecord]:
    if state.done:
        raise ValueError(f"decoding is finished ({state.schedule.total_steps} steps)")
    _sync(adapter.device)
    t0 = time.perf_counter()
    policy = get_policy(config.policy)
    ctx = build_context(adapter, state, config, policy=policy)
    ids, eligible, stats, b = ctx.ids, ctx.eligible, ctx.stats, ctx.b
    k, T, masked = ctx.block, ctx.T, ctx.masked
    drawn_before = ctx.generator.get_state()
    res = policy.score(ctx)
    if not torch.equal(ctx.generator.get_state(), drawn_before):
        # the policy drew from the batch's stream: score again row by row, each row from its own
        # stream, so that a random order does not depend on the batch size, the padding or the neighbours
        res = score_per_row(policy, ctx, config.seed, state.step)
    ctx.graph = None  # free the autograd graph before recording

    notes = list(res.notes)
    if res.commit is None:
        # the top-b eligible positions; ties (and rows short of finite scores) break by confidence
        order_conf = torch.where(eligible, stats.confidence.double(), torch.full_like(res.scores, -np.inf))
        key = torch.where(torch.isfinite(res.scores), res.scores, torch.full_like(res.scores, -1e300))
        key = torch.where(eligible, key, torch.full_like(key, -np.inf))
        first = torch.sort(order_conf, dim=1, descending=True, stable=True).indices
        chosen_sorted = top_mask(key.gather(1, first), eligible.gather(1, first), b)
        chosen = torch.zeros_like(eligible).scatter(1, first, chosen_sorted)
    else:
        chosen = _policy_commits(res.commit, ctx, config.policy, notes)
    remask = _policy_remasks(res.remask, ctx, config.policy)
    if ctx.final:
        # the budget is spent: whatever is still masked is committed now, and nothing goes back
        left = masked & ~chosen
        if bool(left.any()):
            notes.append(f"budget of {T} steps spent: {int(left.sum())} positions still masked were "
                         "committed by their proposals at this final step")
        chosen = chosen | masked
    if bool(remask.any()) and (ctx.final or ctx.block_steps_left <= 1):
        # blocks hold: a block's last scheduled step (and the budget's last) leaves it decoded
        notes.append(f"{'final step' if ctx.final else f'last step of block {k}'}: "
                     f"{int(remask.sum())} remasks ignored")
        remask = torch.zeros_like(remask)
    new_canvas = torch.where(chosen, _policy_tokens(res.tokens, stats.proposals, config.policy), ids)
    new_canvas = torch.where(remask, torch.full_like(ids, adapter.mask_id), new_canvas)
    still = new_canvas == adapter.mask_id
    if state.attention_mask is not None:
        still &= state.attention_mask
    masked_left = int(still.sum())
    revise = policy.revises(config.settings) and bool(eligible.any() or remask.any())
    _sync(adapter.device)
    wall = time.perf_counter() - t0

    signals = {**res.signals, "confidence_pick": ctx.confidence_pick}
    record = _record(state, config, k, T, masked, eligible, stats, res, signals, chosen, remask, new_canvas,
                     notes, wall)
    cc = torch.where(chosen, stats.confidence.float(), ctx.commit_confidence)
    cc = torch.where(remask, torch.full_like(cc, float("nan")), cc)
    return replace(state, canvas=new_canvas, step=state.step + 1, masked_left=masked_left, revise=revise,
                   commit_confidence=cc, remasks=ctx.remasks + remask.long()), record


def _policy_commits(commit: torch.Tensor, ctx: StepContext, policy: str, notes: list) -> torch.Tensor:
    """A policy's own commits, checked; a row with eligible positions and no commit gets its top-1
    by confidence, so every step makes progress."""
    commit = _as_canvas_mask(commit, ctx.eligible, policy, "commit")
    if bool((commit & ~ctx.eligible).any()):
        raise ValueError(f"policy {policy!r} committed positions that are not eligible "
                         "(masked and in the current block)")
    stuck = ctx.eligible.any(1) & ~commit.any(1)
    if bool(stuck.any()):
        commit = commit | (top_mask(ctx.stats.confidence, ctx.eligible, 1) & stuck[:, None])
        notes.append(f"{int(stuck.sum())} rows committed nothing: their top-1 by confidence was committed")
    return commit


def _policy_tokens(tokens, proposals: torch.Tensor, policy: str) -> torch.Tensor:
    """The tokens committed positions take: the policy's own (shape checked) or the proposals."""
    if tokens is None:
        return proposals
    if tuple(tokens.shape) != tuple(proposals.shape):
        raise ValueError(f"policy {policy!r}: tokens has shape {tuple(tokens.shape)}, expected {tuple(proposals.shape)}")
    return tokens.to(device=proposals.device, dtype=proposals.dtype)


def _as_canvas_mask(x: torch.Tensor, like: torch.Tensor, policy: str, what: str) -> torch.Tensor:
    """A policy's (B, N) position mask as bool on the canvas's device; its shape checked."""
    x = x.to(device=like.device, dtype=torch.bool)
    if x.shape != like.shape:
        raise ValueError(f"policy {policy!r}: {what} has shape {tuple(x.shape)}, expected {tuple(like.shape)}")
    return x


def _policy_remasks(remask, ctx: StepContext, policy: str) -> torch.Tensor:
    """A policy's remasks, checked: only committed positions (never prompt, fixed cells or padding)."""
    if remask is None:
        return torch.zeros_like(ctx.masked)
    remask = _as_canvas_mask(remask, ctx.masked, policy, "remask")
    if bool((remask & ~ctx.committed).any()):
        raise ValueError(f"policy {policy!r} remasked positions that are not committed tokens "
                         "(masked, prompt, fixed or padding)")
    return remask


def _np(x, where=None, fill=np.nan, dtype=np.float32):
    a = x.detach().to("cpu").numpy().astype(dtype)
    if where is not None:
        a = np.where(where, a, np.array(fill, dtype=dtype))
    return a


def _record(state, config, k, T, masked, eligible, stats, res, signals, chosen, remask, new_canvas, notes,
            wall) -> StepRecord:
    m = masked.cpu().numpy()
    el = eligible.cpu().numpy()
    return StepRecord(
        step=state.step, block=k, t=T - state.step, policy=config.policy,
        canvas_before=_np(state.canvas, dtype=np.int64), canvas_after=_np(new_canvas, dtype=np.int64),
        masked=m, eligible=el,
        proposals=_np(stats.proposals, m, -1, np.int64),
        confidence=_np(stats.confidence, m), margin=_np(stats.margin, m), entropy=_np(stats.entropy, m),
        topk_ids=np.where(m[..., None], _np(stats.topk_ids, dtype=np.int64), -1),
        topk_probs=np.where(m[..., None], _np(stats.topk_probs), np.float32(0)),
        score=_np(res.scores, el & np.isfinite(res.scores.cpu().numpy())),
        chosen=chosen.cpu().numpy(), fallback=res.fallback.cpu().numpy().astype(bool),
        n_commit=chosen.sum(1).cpu().numpy().astype(np.int64), remasked=remask.cpu().numpy(),
        n_forward=1 + res.extra_forwards, n_backward=res.backwards, wall_time=wall,
        signals={name: (v.cpu().numpy().astype(bool) if v.dtype == torch.bool else _np(v))
                 for name, v in signals.items()},
        notes=notes,
    )


def iterate(adapter, state: DecodeState, config: DecodeConfig) -> Iterator[StepRecord]:
    """Yield one StepRecord per step until the canvas is decoded and the policy has nothing left
    to revise, or the budget of steps is spent."""
    while not state.done:
        state, record = step(adapter, state, config)
        yield record


def new_trace(adapter, state: DecodeState, config: DecodeConfig, meta=None) -> Trace:
    return Trace(model=adapter.name, config=config.to_dict(), initial_canvas=state.canvas.cpu().numpy(),
                 fixed=state.fixed.cpu().numpy(),
                 attention_mask=None if state.attention_mask is None else state.attention_mask.cpu().numpy(),
                 schedule=state.schedule.to_dict(), mask_id=adapter.mask_id, meta=dict(meta or {}))


def fill_vocab(adapter, trace: Trace) -> Trace:
    """Store the strings of every token id the trace mentions, so it replays without the model."""
    ids = {int(i) for i in np.unique(trace.initial_canvas)}
    for r in trace.records:
        ids.update(int(i) for i in np.unique(r.canvas_after))
        ids.update(int(i) for i in np.unique(r.topk_ids) if i >= 0)
    trace.id_to_token.update({i: adapter.id_to_token(i) for i in sorted(ids) if i not in trace.id_to_token})
    return trace


def generate(adapter, prompt=None, *, gen_length: int = 32, canvas=None, attention_mask=None,
             config: DecodeConfig | None = None, meta=None,
             callback: Callable[[StepRecord], None] | None = None, target=None, **overrides) -> Trace:
    """Decode a prompt (followed by `gen_length` masks) or an explicit canvas; return the Trace.

    Keyword overrides go to the config (``policy="boe"``, ``steps=16``, ``rho=0.5`` ...).
    `target`: the answer's token ids, shaped like the canvas (-1: none), for a policy that reads
    the answer (the oracle); every other policy ignores it.
    """
    config = (config or DecodeConfig())
    if overrides:
        config = config.replace(**overrides)
    if (prompt is None) == (canvas is None):
        raise ConfigError("prompt", prompt, "give exactly one of prompt or canvas")
    if canvas is None:
        canvas, attention_mask = prompt_canvas(adapter, prompt, gen_length)
    elif not torch.is_tensor(canvas):
        canvas = torch.as_tensor(canvas, dtype=torch.long)
    state = init_state(adapter, canvas, config, attention_mask, target)
    trace = new_trace(adapter, state, config, meta)
    for record in iterate(adapter, state, config):
        trace.records.append(record)
        if callback is not None:
            callback(record)
    return fill_vocab(adapter, trace)


def state_at(adapter, trace: Trace, at_step: int, revise: bool = False) -> DecodeState:
    """The decoding state right before step `at_step` of a trace (its canvas and schedule).
    `revise`: whether the policy that continues from it may still remask on a full canvas."""
    if not isinstance(at_step, int) or not (0 <= at_step < trace.num_steps):
        raise ConfigError("at_step", at_step, f"must be an integer in [0, {trace.num_steps})")
    dev = adapter.device
    am = None if trace.attention_mask is None else torch.as_tensor(trace.attention_mask, device=dev)
    canvas = torch.as_tensor(trace.records[at_step].canvas_before, device=dev)
    masked = canvas == trace.mask_id
    if am is not None:
        masked &= am
    cc = np.full(canvas.shape, np.nan, np.float32)  # the run's memory: commit confidences, remasks
    remasks = np.zeros(canvas.shape, np.int64)
    for r in trace.records[:at_step]:
        cc = np.where(r.chosen, r.confidence, cc)
        cc = np.where(r.remasked, np.float32(np.nan), cc)
        remasks += r.remasked
    return DecodeState(canvas, torch.as_tensor(trace.fixed, device=dev), am,
                       Schedule.from_dict(trace.schedule), at_step, int(masked.sum()), revise,
                       torch.as_tensor(cc, device=dev), torch.as_tensor(remasks, device=dev))
