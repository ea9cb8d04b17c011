"""Edit a run's canvas before one of its steps and let the run's own policy go on from there.

    t2 = intervene(model, trace, at_step=5, edits={12: "mask", 30: 7})

`edits` maps a canvas position to a token id or "mask" (take the token back). The edits apply to
the canvas right before step `at_step`, so a token committed at step r can be edited from
`at_step = r + 1`; `at_step = num_steps` edits the final canvas. The new trace keeps the original
records before `at_step`; the rest is decoded by the sampler's own loop (`state_at` + `iterate`)
with the run's policy (or `policy`), seed and remaining step budget. Its `meta["interventions"]`
lists what was edited, so a viewer can mark the changed cells and `Trace.check` accepts them.

A replaced token gets a commit confidence, as a token the loop commits does (revising policies
such as RCR rank the decoded tokens by it; a missing one would let the replacement stand forever):
- when the new token is among the top-k recorded at the step that committed the old one, its
  recorded probability there (what `counterfactuals` gives a runner-up, so a counterfactual
  opened through `intervene` continues exactly as it was measured);
- otherwise (any other token, or a token written into a cell that was still masked), the model's
  probability of the new token at that cell, read from one forward on the edited canvas with the
  replaced cells masked (the softmax a commit's confidence is read from: suppressed ids excluded,
  temperature 1).
A taken-back cell forgets its commit confidence. `replacement_confidence` gives these values.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .config import DecodeConfig
from .errors import ConfigError, is_int
from .numerics import suppress
from .policies import get_policy
from .sampler import DecodeState, edit_state, fill_vocab, iterate, state_at
from .schedule import Schedule
from .trace import StepRecord, Trace

MASK = "mask"


def vocab_size(adapter) -> int:
    return int(adapter.embedding_matrix().shape[0])


def check_edits(adapter, trace: Trace, at_step, edits, row) -> dict[int, int]:
    """position -> new token id (the mask id for a take-back), every edit checked against the
    canvas before `at_step`; ConfigError naming the field and value otherwise."""
    B, N = trace.initial_canvas.shape
    if not is_int(row) or not (0 <= row < B):
        raise ConfigError("row", row, f"must be an integer in [0, {B})")
    if not is_int(at_step) or not (0 <= at_step <= trace.num_steps):
        raise ConfigError("at_step", at_step, f"must be an integer in [0, {trace.num_steps}]")
    if not isinstance(edits, dict):
        raise ConfigError("edits", edits, "must be a mapping {position: token id or 'mask'}")
    canvas = canvas_before(trace, at_step)[row]
    live = np.ones(N, bool) if trace.attention_mask is None else trace.attention_mask[row].astype(bool)
    V = vocab_size(adapter)
    out = {}
    for pos, tok in edits.items():
        if not is_int(pos) and not (isinstance(pos, np.integer)):
            raise ConfigError("position", pos, "must be an integer")
        pos = int(pos)
        if not (0 <= pos < N):
            raise ConfigError("position", pos, f"out of range: the canvas has {N} positions")
        if not live[pos]:
            raise ConfigError("position", pos, "is padding, not part of the canvas")
        if trace.fixed[row, pos]:
            raise ConfigError("position", pos, "is a prompt or fixed position; only decoded tokens can be edited")
        if isinstance(tok, str) and tok.lower() == MASK:
            if canvas[pos] == trace.mask_id:
                raise ConfigError("position", pos, f"is not committed before step {at_step}: nothing to take back")
            out[pos] = trace.mask_id
            continue
        if not (is_int(tok) or isinstance(tok, np.integer)) or not (0 <= int(tok) < V):
            raise ConfigError(f"edits[{pos}]", tok, f"must be a token id in [0, {V}) or 'mask'")
        if int(tok) == trace.mask_id or int(tok) in adapter.suppressed_ids:
            raise ConfigError(f"edits[{pos}]", tok, "is a special id the model never proposes; use 'mask' to take back")
        out[pos] = int(tok)
    return out


def canvas_before(trace: Trace, at_step: int) -> np.ndarray:
    """(B, N) the canvas right before step `at_step` (the final canvas for `num_steps`)."""
    if at_step < trace.num_steps:
        return trace.records[at_step].canvas_before
    return trace.final_canvas


def state_before(adapter, trace: Trace, at_step: int, revise: bool) -> DecodeState:
    """`state_at`, extended to `at_step = num_steps`: the state after the last recorded step."""
    if at_step < trace.num_steps:
        return state_at(adapter, trace, at_step, revise)
    last = trace.records[-1]
    st = state_at(adapter, trace, trace.num_steps - 1, revise)
    dev = st.canvas.device
    cc = torch.where(torch.as_tensor(last.chosen, device=dev), torch.as_tensor(last.confidence, device=dev),
                     st.commit_confidence)
    cc = torch.where(torch.as_tensor(last.remasked, device=dev), torch.full_like(cc, float("nan")), cc)
    canvas = torch.as_tensor(last.canvas_after, device=dev)
    still = canvas == trace.mask_id
    if st.attention_mask is not None:
        still &= st.attention_mask
    return replace(st, canvas=canvas, step=trace.num_steps, masked_left=int(still.sum()), commit_confidence=cc,
                   remasks=st.remasks + torch.as_tensor(last.remasked, device=dev).long())


def _edit_record(trace: Trace, at_step: int, before: np.ndarray, after: np.ndarray, policy: str) -> StepRecord:
    """A record of no forward that only carries the edit (token replacements on a run whose step
    budget is spent: there is no step left to show them)."""
    B, N = before.shape
    k = trace.records[-1].topk_ids.shape[-1]
    nan = np.full((B, N), np.nan, np.float32)
    chosen = before != after
    return StepRecord(step=at_step, block=trace.records[-1].block, t=0, policy=policy,
                      canvas_before=before.copy(), canvas_after=after.copy(), masked=np.zeros((B, N), bool),
                      eligible=np.zeros((B, N), bool), proposals=np.full((B, N), -1, np.int64), confidence=nan,
                      margin=nan.copy(), entropy=nan.copy(), topk_ids=np.full((B, N, k), -1, np.int64),
                      topk_probs=np.zeros((B, N, k), np.float32), score=nan.copy(), chosen=chosen,
                      fallback=np.zeros(B, bool), n_commit=chosen.sum(1).astype(np.int64),
                      remasked=np.zeros((B, N), bool), n_forward=0, n_backward=0, wall_time=0.0,
                      notes=["an edit of the final canvas: the step budget is spent, nothing was decoded after it"])


def last_commit_step(trace: Trace, at_step: int, position: int, row: int = 0) -> int | None:
    """The step that last committed `position` before `at_step` (None when no step did)."""
    for r in reversed(trace.records[:at_step]):
        if bool(r.chosen[row, position]):
            return r.step
    return None


@torch.no_grad()
def replacement_confidence(model, trace: Trace, at_step: int, edits: dict[int, int], row: int = 0) -> dict[int, float]:
    """{position: commit confidence} of each replaced (not taken-back) cell of checked `edits`:
    the new token's probability in the top-k recorded at the step that committed the old token
    when it is there, else the model's probability of it on the canvas before `at_step` with every
    edit written and the replaced cells masked (one forward, only when some token needs it)."""
    out, missing = {}, []
    for pos, tok in edits.items():
        if tok == trace.mask_id:
            continue
        s = last_commit_step(trace, at_step, pos, row)
        if s is not None:
            r = trace.records[s]
            hit = np.flatnonzero(r.topk_ids[row, pos] == tok)
            if hit.size:
                out[pos] = float(r.topk_probs[row, pos, hit[0]])
                continue
        missing.append(pos)
    if missing:
        canvas = canvas_before(trace, at_step)[row].copy()
        for pos, tok in edits.items():
            canvas[pos] = tok
        canvas[missing] = trace.mask_id
        ids = torch.as_tensor(canvas[None], dtype=torch.long, device=model.device)
        am = None if trace.attention_mask is None else torch.as_tensor(
            trace.attention_mask[row][None].astype(bool), device=model.device)
        logits = suppress(model.logits(ids, am)[0, missing].float(), model.suppressed_ids)
        probs = torch.softmax(logits, dim=-1)
        for i, pos in enumerate(missing):
            out[pos] = float(probs[i, edits[pos]])
    return out


@torch.no_grad()
def intervene(model, trace: Trace, at_step: int, edits: dict, row: int = 0, policy: str | None = None,
              callback=None, **overrides) -> Trace:
    """A new trace: the records of `trace` before `at_step`, then `edits` ({position: token id or
    "mask"}) applied to row `row` of the canvas before that step, then the continuation decoded by
    the run's policy (or `policy`; other config fields may be overridden), seed and remaining
    budget. A replaced token's commit confidence is `replacement_confidence` (see the module's
    docstring). With no edits it equals `branch(model, trace, at_step, policy)`."""
    edits = check_edits(model, trace, at_step, edits, row)
    name = policy or trace.config.get("policy")
    config = DecodeConfig.from_dict(trace.config).replace(policy=name, **overrides).validate()
    state = state_before(model, trace, at_step, get_policy(name).revises(config.settings))
    before = canvas_before(trace, at_step)
    pos = sorted(edits)
    where = torch.zeros(state.canvas.shape, dtype=torch.bool, device=state.canvas.device)
    tokens = state.canvas.clone()
    where[row, pos] = True
    tokens[row, pos] = torch.as_tensor([edits[p] for p in pos], dtype=torch.long, device=tokens.device)
    conf = torch.full(tokens.shape, float("nan"), dtype=torch.float32, device=tokens.device)
    for p, c in replacement_confidence(model, trace, at_step, edits, row).items():
        conf[row, p] = c
    state = edit_state(state, where, tokens, trace.mask_id, conf)
    record = {"step": at_step, "row": row, "positions": pos, "old": [int(before[row, p]) for p in pos],
              "new": [edits[p] for p in pos], "policy": name}
    out = Trace(model=trace.model, config=config.to_dict(), initial_canvas=trace.initial_canvas,
                fixed=trace.fixed, attention_mask=trace.attention_mask, schedule=trace.schedule,
                mask_id=trace.mask_id, records=list(trace.records[:at_step]), id_to_token=dict(trace.id_to_token),
                meta={**trace.meta, "interventions": [*trace.meta.get("interventions", []), record]})
    if state.done:
        if state.masked_left:
            raise ConfigError("at_step", at_step, f"no step of the {state.schedule.total_steps}-step budget is "
                                                  "left to decode a taken-back token")
        if pos:
            out.records.append(_edit_record(trace, at_step, before, state.canvas.cpu().numpy(), name))
        return fill_vocab(model, out)
    for rec in iterate(model, state, config):
        out.records.append(rec)
        if callback is not None:
            callback(rec)
    return fill_vocab(model, out)


def sub_state(state: DecodeState, rows, mask_id: int) -> DecodeState:
    """The state of some rows of a batch (repeats allowed): canvas, masks, schedule counts, memory."""
    idx = torch.as_tensor(rows, dtype=torch.long, device=state.canvas.device)
    pick = lambda x: None if x is None else x.index_select(0, idx)  # noqa: E731
    canvas, am = pick(state.canvas), pick(state.attention_mask)
    still = canvas == mask_id
    if am is not None:
        still &= am
    sched = state.schedule
    sched = Schedule(sched.blocks, sched.step_block, sched.counts.index_select(0, idx.cpu()))
    return replace(state, canvas=canvas, fixed=pick(state.fixed), attention_mask=am, schedule=sched,
                   masked_left=int(still.sum()), commit_confidence=pick(state.commit_confidence),
                   remasks=pick(state.remasks))
