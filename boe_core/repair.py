"""Root repair (issue #27 part 4): a finished run's most suspect commit is changed, the commits that
hang on it go back to [MASK], and the run's own policy decodes them again.

    rep = root_repair(model, trace, row=0)                 # the defaults chosen on sudoku val / hard_val
    rep = root_repair(model, trace, row=0, finder="grad-likelihood", rounds=10)
    rep.final          # (N,) the repaired canvas; rep.rounds says what each round did and cost

**Gate.** No checker is read, so every run is a candidate. The run is first read back in `groups`
interleaved groups (each group's decoded tokens masked, one forward each); when the model gives
every decoded token probability >= `gate`, nothing is repaired (on the easy Sudoku split, repairs
of such runs broke right grids more often than they fixed wrong ones).

One round, on the current canvas (the run's final canvas at first):
1. **Suspect.** A root finder (`boe_core.roots`: `lowest-confidence` by default, free;
   `grad-likelihood`, the library's default for `find_roots`, costs T forwards + T backwards here;
   `counterfactual-top` adds its 12 branches' rollouts; `counterfactual-reread` every branch's
   rollout and a grouped read of each branch's end)
   ranks the run's commits once; each round takes the next suspect j (step s, token x_j,
   confidence p_j) whose token still stands.
2. **Ban.** x_j is banned at j: the cell takes its runner-up a_j (probability q_j, from the step's
   recorded top-k). Without the ban a remasked cell is re-predicted from its (wrong) neighbours
   and the same token comes back (the supports of a wrong cell are wrong too).
3. **Dependents.** `later-all`: every commit made after step s (for a run that never takes a
   commit back this is exactly the canvas right after step s: the counterfactual branch of j).
   `later-drop`: only the later commits whose log-probability falls by more than `min_drop` nats
   when x_j becomes a_j, read with every later commit masked (two batched forwards).
4. **Re-decode.** The dependents go back to [MASK] and the run's policy, seed and commit rate
   (its tokens per step) decode them; a run decoded in blocks decodes them inside its own blocks,
   in order, each block at that rate (`schedule.plan_in_blocks`).
5. **Accept.** `pll` (default): keep the round when the grouped read of the whole canvas (the
   gate's) sums higher than before. `likelihood`: keep it when the changed cells are more likely
   than before along the trajectory: log q_j + the re-decoded commits' summed log confidence
   against log p_j + the same cells' summed log confidence at their earlier commits (the
   counterfactual score g_j of docs/roots.md, restricted to the cells that moved; on sudoku it
   kept nothing). `always`: keep every round.

Why this is an operation over the loop and not a `Policy`: a policy scores one step from that
step's canvas; it sees neither the run's commit history (which the finders read) nor the token a
cell held before it was taken back (which the ban needs).

Cost, counted per sequence: the grouped read (`groups` forwards, once and once per round), the
finder's forwards and backwards (`finder_cost`: grad-likelihood re-reads the run's T commit-step
canvases, T forwards and T backwards, batched), two forwards per round for `later-drop`, and the
re-decode's own steps. The base run is not included.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .config import DecodeConfig
from .counterfactuals import commits_of, estimate_forwards, runner_up
from .errors import ConfigError, finite, is_int
from .numerics import suppress
from .readback import grouped_pll
from .roots import ROOT_FINDERS, order_of
from .roots.counterfactual_reread import GROUPS as REREAD_GROUPS
from .roots.counterfactual_top import BEHIND
from .sampler import generate, init_state, iterate
from .schedule import plan_in_blocks
from .trace import Trace

DEPENDENTS = ("later-all", "later-drop")
ACCEPT = ("likelihood", "pll", "always")


def finder_cost(finder: str, trace: Trace, row: int, scores: np.ndarray | None = None) -> tuple[int, int]:
    """(forwards, backwards) per sequence that a finder spends on one row. `counterfactual-top` also
    continues its top commits' branches: their later steps' forwards, read from its `scores`."""
    T, M = trace.num_steps, len(commits_of(trace, row))
    costs = {"lowest-confidence": (0, 0), "leave-one-out": (M, 0), "grad-likelihood": (T, T),
             "grad-likelihood-mid": (T, T), "counterfactual-top": (T, T), "counterfactual-reread": (0, 0)}
    if finder not in costs:
        raise ConfigError("finder", finder, f"root repair runs finders with a known cost: {sorted(costs)}")
    fw, bw = costs[finder]
    if finder == "counterfactual-top" and scores is not None:
        branched = [c for c, v in zip(commits_of(trace, row), scores) if v > BEHIND]  # the commits scored exactly
        fw += estimate_forwards(trace, row, commits=branched)["sequence_forwards"]
    if finder == "counterfactual-reread":  # every branch continued, then each branch's end and the run's read back
        fw += estimate_forwards(trace, row)["sequence_forwards"] + REREAD_GROUPS * (M + 1)
    return fw, bw


FINDERS = ("grad-likelihood", "lowest-confidence", "leave-one-out", "grad-likelihood-mid", "counterfactual-top",
           "counterfactual-reread")


@dataclass
class RepairSettings:
    # the defaults were chosen on sudoku val and hard_val (results/sudoku/repair_*val*.md): the free
    # finder repairs as well per round as grad-likelihood at a third of the cost, the pll rule keeps
    # repairs without a checker, and the gate stops repairs that broke right grids on the easy split
    finder: str = "lowest-confidence"
    rounds: int = 3  # suspects tried, most suspect first
    dependents: str = "later-all"
    min_drop: float = 1.0  # nats, for dependents="later-drop"
    accept: str = "pll"
    groups: int = 6  # for accept="pll" and the gate: the decoded cells masked in this many interleaved groups
    gate: float = 0.5  # repair only a run where some decoded token's grouped probability is below this (1: every run)
    ban: bool = True  # the suspect's old token may not come back (it takes its runner-up)

    def validate(self) -> RepairSettings:
        if self.finder not in FINDERS:
            raise ConfigError("finder", self.finder, f"must be one of {list(FINDERS)}")
        if not is_int(self.rounds) or not 1 <= self.rounds <= 64:
            raise ConfigError("rounds", self.rounds, "must be an integer in [1, 64]")
        if self.dependents not in DEPENDENTS:
            raise ConfigError("dependents", self.dependents, f"must be one of {list(DEPENDENTS)}")
        if not finite(self.min_drop) or self.min_drop < 0:
            raise ConfigError("min_drop", self.min_drop, "must be a finite number >= 0")
        if self.accept not in ACCEPT:
            raise ConfigError("accept", self.accept, f"must be one of {list(ACCEPT)}")
        if not is_int(self.groups) or not 1 <= self.groups <= 512:
            raise ConfigError("groups", self.groups, "must be an integer in [1, 512]")
        if not finite(self.gate) or not 0 < self.gate <= 1:
            raise ConfigError("gate", self.gate, "must be a probability in (0, 1]")
        if not isinstance(self.ban, bool):
            raise ConfigError("ban", self.ban, "must be true or false")
        return self


@dataclass
class RepairRound:
    step: int  # the suspect's commit step
    position: int
    old: int  # its token
    new: int  # the token it holds after the round (the mask id never: the re-decode fills it)
    remasked: list[int]  # the dependents sent back to [MASK]
    delta: float  # new minus old log-likelihood of the changed cells
    accepted: bool
    forwards: int  # per sequence, this round (dependents + re-decode)
    backwards: int = 0


@dataclass
class Repair:
    final: np.ndarray  # (N,) the canvas after every accepted round
    original: np.ndarray  # (N,) the run's final canvas
    rounds: list[RepairRound] = field(default_factory=list)
    forwards: int = 0  # per sequence, beyond the base run: finder + rounds
    backwards: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool((self.final != self.original).any())

    def forward_equivalents(self, kappa: float) -> float:
        """Forwards + kappa x backwards (kappa: a backward's cost in forwards, `bench.cost`)."""
        return self.forwards + kappa * self.backwards


def _last_commits(trace: Trace, row: int) -> dict[int, tuple[int, float]]:
    """position -> (step, log confidence) of its last commit in the run."""
    out = {}
    for r in trace.records:
        for p in np.flatnonzero(r.chosen[row] & ~trace.fixed[row]):
            out[int(p)] = (r.step, float(np.log(max(float(r.confidence[row, p]), 1e-45))))
    return out


@torch.no_grad()
def _dependents_by_drop(model, canvas: np.ndarray, am, p: int, put: int, later: list[int],
                        min_drop: float, mask_id: int) -> list[int]:
    """The later commits whose log-probability falls by more than `min_drop` nats when position p
    holds `put` (its runner-up, or the mask id) instead of its token, each read with every later
    commit masked: one forward of two canvases."""
    if not later:
        return []
    dev = model.device
    before = torch.as_tensor(canvas, device=dev).clone()
    before[later] = mask_id
    after = before.clone()
    after[p] = put
    ids = torch.stack([before, after])
    a = None if am is None else torch.as_tensor(am, device=dev)[None].expand(2, -1)
    pos = torch.tensor(later, device=dev)
    logits = model.head(model.hidden(model.embed(ids), a)[:, pos])  # (2, L, V)
    lp = torch.log_softmax(suppress(logits, model.suppressed_ids).float(), -1)
    tok = torch.as_tensor(canvas[later], device=dev)
    read = lp.gather(2, tok[None, :, None].expand(2, -1, 1)).squeeze(2)  # (2, L)
    drop = (read[0] - read[1]).cpu().numpy()
    return [k for k, d in zip(later, drop) if d > min_drop]


@torch.no_grad()  # the finder opens its own grad scope where it needs one
def root_repair(model, trace: Trace, row: int = 0, settings: RepairSettings | None = None,
                config: DecodeConfig | None = None, **overrides) -> Repair:
    """Repair one row of a finished run (see the module docstring). `config`: the decode settings of
    the re-decode (default: the run's own); `overrides`: RepairSettings fields."""
    s = replace(settings or RepairSettings(), **overrides).validate()
    B = trace.initial_canvas.shape[0]
    if not is_int(row) or not 0 <= row < B:
        raise ConfigError("row", row, f"must be an integer in [0, {B})")
    if not trace.records:
        raise ConfigError("trace", "no steps", "has no commits to repair")
    t0 = time.perf_counter()
    cfg = config or DecodeConfig.from_dict(trace.config)
    # a run decoded in blocks re-decodes inside its own blocks, in order (`plan_in_blocks`)
    blocks = [tuple(b) for b in trace.schedule["blocks"]] if cfg.block_length is not None else None
    original = np.asarray(trace.final_canvas[row]).copy()
    rep = Repair(original.copy(), original)
    cm = commits_of(trace, row)
    if not cm:
        return rep
    last = _last_commits(trace, row)
    logc = {p: lc for p, (_, lc) in last.items()}
    am = None if trace.attention_mask is None else np.asarray(trace.attention_mask[row], bool)
    rate = len(last) / max(trace.num_steps, 1)  # the run's tokens per step
    decoded = np.zeros(len(original), bool)
    decoded[list(last)] = True
    pll = None
    if s.accept == "pll" or s.gate < 1:
        pll, weakest = grouped_pll(model, rep.final, decoded, am, s.groups)
        rep.forwards += min(s.groups, len(last))
        if weakest >= math.log(s.gate):
            rep.seconds = time.perf_counter() - t0
            return rep  # the model doubts none of the run's tokens: nothing to repair
    scores = ROOT_FINDERS.get(s.finder).score(model, trace, row)
    fw, bw = finder_cost(s.finder, trace, row, scores)
    rep.forwards, rep.backwards = rep.forwards + fw, rep.backwards + bw
    ranking = order_of(scores, cm)
    tried: set[int] = set()
    for step_j, p in ranking:
        if len(rep.rounds) >= s.rounds:
            break
        if p in tried or last[p][0] != step_j:
            continue  # a position's earlier commit, taken back by the run itself
        tok, _, alt, q = runner_up(trace, step_j, p, row)
        if int(rep.final[p]) != tok:
            continue  # moved by an accepted round: no longer the run's commit
        tried.add(p)
        rep.rounds.append(_round(model, trace, row, s, cfg, rep.final, am, logc, last, step_j, p, tok, alt, q, rate,
                                      blocks))
        r = rep.rounds[-1]
        if s.accept == "pll":  # the same belief, read on the repaired canvas
            new_pll, _ = grouped_pll(model, r.canvas, decoded, am, s.groups)
            r.forwards += min(s.groups, len(last))
            r.delta, r.accepted = new_pll - pll, new_pll > pll
            if r.accepted:
                pll = new_pll
        rep.forwards += r.forwards
        rep.backwards += r.backwards
        if r.accepted:
            rep.final = r.canvas
            logc.update(r.logc)
        del r.canvas, r.logc
    rep.seconds = time.perf_counter() - t0
    return rep


def _round(model, trace, row, s: RepairSettings, cfg: DecodeConfig, canvas, am, logc, last, step_j, p, tok, alt,
           q, rate, blocks=None) -> RepairRound:
    mask_id = trace.mask_id
    later = sorted(k for k, (st, _) in last.items() if st > step_j and k != p)
    put = alt if s.ban else mask_id
    fw = 0
    if s.dependents == "later-all":
        deps = later
    else:
        deps = _dependents_by_drop(model, canvas, am, p, put, later, s.min_drop, mask_id)
        fw += 2 if later else 0
    edited = canvas.copy()
    edited[p] = put
    edited[deps] = mask_id
    redo = deps if s.ban else [p, *deps]
    new_ll = math.log(max(q, 1e-45)) if s.ban else 0.0
    old_ll = logc[p] + sum(logc[k] for k in deps)
    new_logc = {p: new_ll} if s.ban else {}
    bw = 0
    if redo:
        records = _redecode(model, edited, am, cfg, rate, len(redo), blocks)
        for r in records:
            fw += r.n_forward
            bw += r.n_backward
            for k in np.flatnonzero(r.chosen[0]):
                lc = float(np.log(max(float(r.confidence[0, k]), 1e-45)))
                new_logc[int(k)] = lc
        new_ll += sum(v for k, v in new_logc.items() if k != p or not s.ban)
        edited = np.asarray(records[-1].canvas_after[0]).copy()
    delta = new_ll - old_ll
    out = RepairRound(step_j, p, tok, int(edited[p]), [int(k) for k in deps], float(delta),
                      s.accept == "always" or delta > 0, fw, bw)
    out.canvas, out.logc = edited, new_logc  # taken by root_repair, then dropped
    return out


def _redecode(model, canvas: np.ndarray, am, cfg: DecodeConfig, rate: float, n: int, blocks) -> list:
    """Decode the masks of one canvas with the run's policy and seed at its commit rate: as one
    region, or (`blocks`: the run's block boundaries) block by block inside them, as the run did."""
    a = None if am is None else torch.as_tensor(am)[None]
    x = torch.as_tensor(canvas)[None]
    if blocks is None:
        steps = max(1, math.ceil(n / max(rate, 1e-9)))
        return generate(model, canvas=x, attention_mask=a, config=cfg.replace(steps=steps)).records
    free = cfg.replace(block_length=None, steps=1)
    state = init_state(model, x, free, a)
    schedule = plan_in_blocks(~state.fixed.cpu(), blocks, rate)  # init_state fixes every cell but the masks
    state = replace(state, schedule=schedule)
    return list(iterate(model, state, free.replace(steps=schedule.total_steps)))
