"""View-hop: where the model hesitates, read the canvas in another symmetric view, and commit what
that view is sure of (issue #29).

At a step where some eligible position's confidence clears τ (0.99), it commits every such
position, as the planner and a strict threshold sampler do. Where none clears τ (an *uncertain*
state) it reads the canvas in up to `hops` Sudoku symmetries (`tasks.sudoku.symmetry`), one at a
time, and stops at the first view that is sure of some cell (≥ τ there): it commits every cell
that view is sure of, with the digits that view reads (mapped back to the canvas). Only when no
view read is sure does it guess: the cell whose proposal the readings believe most on average
(the planner's rule), one cell.

Why: a trained model is not invariant to the puzzle's symmetries. Where it hesitates in one view,
another is often sure, and a sure reading (≥ 0.99) was never wrong along right decodes of hard
Sudoku (docs/ordering_gap.md). So a hop replaces most guesses by sure commits, at one forward
each; the planner instead reads all its views at every uncertain state and still guesses.

Which views: the rotation of the 16 fixed views starts at (cells filled + `offset`) mod 16, a
function of the canvas alone, so a decode needs no memory and moves through many views as the
grid fills. Another `offset` gives another trajectory: `boe_core.restarts` decodes again with one
when the model does not believe the grid it wrote.

Cost: one forward per view read, charged to the rows that read (`candidates`); a step where rows
read different numbers of views charges each the most any read (`hops` = 1 makes it exact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite, is_int
from ..knobs import knob
from ..numerics import top_mask
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, register
from .commits import count_note, fmt
from .planner import SCORE, digit_index, own_digit_log_probs, sudoku_digits
from .selection import CANDIDATES

HOP_VIEW = Signal("hop_view", "view-hop: the view that was sure", colorscale="Viridis",
                  description="at a step where no position clears τ: the symmetric view (1..16) whose sure "
                              "reading committed the cell; 0 where the readings' mean guessed it")


@dataclass
class ViewHopSettings:
    tau: float = knob(0.99, "τ · sure confidence", "positions at or above this confidence are committed at "
                      "once, in the canvas or in the view that reads them", range=(0.5, 1.0), step=0.005,
                      group="view-hop")
    hops: int = knob(1, "hops · views tried", "at a step where nothing clears τ, how many symmetric views "
                     "are read, one at a time, before guessing", range=(1, 16), group="view-hop")
    offset: int = knob(0, "offset · first view", "shifts the rotation of views; another offset decodes "
                       "another trajectory (what restarts use)", range=(0, 15), group="view-hop")

    def validate(self):
        if not finite(self.tau) or not (0.5 <= self.tau <= 1.0):
            raise ConfigError("tau", self.tau, "must be in [0.5, 1]")
        if not is_int(self.hops) or not 1 <= self.hops <= 16:
            raise ConfigError("hops", self.hops, "must be an integer in [1, 16]")
        if not is_int(self.offset) or not 0 <= self.offset <= 15:
            raise ConfigError("offset", self.offset, "must be an integer in [0, 15]")
        return self


def hop_rows(ctx: StepContext, rows: torch.Tensor, digits: torch.Tensor):
    """For the (R,) uncertain rows: (commit (R, N) bool, tokens (R, N) int64, mean log p(proposal)
    (R, N) float64 where a row guessed (NaN where it hopped), view that committed (R, N) float32,
    views read)."""
    from ..tasks.sudoku.symmetry import MAX_VIEWS, read_in_views

    s = ctx.settings
    ids, eligible = ctx.ids[rows], ctx.eligible[rows]
    R = len(rows)
    log_tau = math.log(s.tau)
    total = own_digit_log_probs(ctx, rows, digits).double()  # the canvas's own reading, then each view's
    n_read = torch.ones(R, 1, 1, dtype=torch.float64, device=ids.device)
    commit = torch.zeros_like(eligible)
    tokens = ctx.stats.proposals[rows].clone()
    view_of = torch.full(eligible.shape, float("nan"), device=ids.device)
    open_ = torch.ones(R, dtype=torch.bool, device=ids.device)
    filled = (~ctx.masked[rows]).sum(1)
    read = 0
    for h in range(s.hops):
        todo = open_.nonzero().squeeze(1)
        if not len(todo):
            break
        which = (filled[todo] + s.offset + h) % MAX_VIEWS
        lp = read_in_views(ctx.adapter.logits, ids[todo], digits, which)  # (T, N, 9)
        read = h + 1
        conf, arg = lp.max(-1)
        sure = eligible[todo] & (conf >= log_tau)
        hit = sure.any(1)
        commit[todo] = sure
        tokens[todo] = torch.where(sure, digits[arg], tokens[todo])
        view_of[todo] = torch.where(sure, (which[:, None] + 1).float(), view_of[todo])
        total[todo] += lp.double()
        n_read[todo] += 1
        open_[todo[hit]] = False
    guess_score = torch.full(eligible.shape, float("nan"), dtype=torch.float64, device=ids.device)
    left = open_.nonzero().squeeze(1)
    if len(left):  # no view was sure: the planner's rule over the readings taken
        prop = digit_index(ctx.stats.proposals[rows[left]], digits)
        mean = (total[left] / n_read[left]).gather(-1, prop[..., None]).squeeze(-1)
        one = top_mask(masked_scores(mean, eligible[left]), eligible[left], 1)
        commit[left] = one
        view_of[left] = torch.where(one, torch.zeros_like(view_of[left]), view_of[left])
        guess_score[left] = torch.where(eligible[left], mean, guess_score[left])
    return commit, tokens, guess_score, view_of, read


class ViewHopPolicy(Policy):
    name = "view-hop"
    order = 46
    description = "confidence where the model is sure; where it hesitates, the first symmetric view that is sure"
    settings_cls = ViewHopSettings
    signals = (HOP_VIEW, SCORE, CANDIDATES)

    def presets(self):
        return {"view-hop (one view where unsure)": {}, "view-hop · 4 views before a guess": {"hops": 4}}

    def score(self, ctx: StepContext) -> PolicyResult:
        s = ctx.settings
        digits = sudoku_digits(ctx.adapter, ctx.ids.shape[1], s, knob="hops")  # refused at the first step
        conf = ctx.stats.confidence
        sure = ctx.eligible & (conf >= s.tau)
        ask = ctx.eligible.any(1) & ~sure.any(1)
        scores = masked_scores(conf, ctx.eligible)
        commit, tokens = sure.clone(), ctx.stats.proposals.clone()
        signals, extra = {}, 0
        notes = [count_note(sure.sum(1), f"cleared τ = {fmt(s.tau)}", ctx.eligible.any(1))]
        if bool(ask.any()):
            rows = ask.nonzero().squeeze(1)
            with torch.no_grad():
                c, t, guess, view_of, extra = hop_rows(ctx, rows, digits)
            commit[rows], tokens[rows] = c, t
            nan = torch.full(conf.shape, float("nan"), device=conf.device)
            signals[HOP_VIEW.name] = nan.clone().index_put_((rows,), view_of)
            signals[SCORE.name] = nan.clone().index_put_((rows,), guess.float())
            signals[CANDIDATES.name] = torch.zeros_like(ctx.eligible).index_put_((rows,), ctx.eligible[rows])
            hopped = int((c.any(1) & ~guess.isfinite().any(1)).sum())  # one host sync for the note
            notes.append(f"{len(rows)} row(s) had none: {hopped} found a sure view in {extra} read(s), "
                         f"{len(rows) - hopped} guessed")
        return PolicyResult(scores, torch.zeros_like(ask), signals, extra_forwards=extra, notes=notes,
                            commit=commit, tokens=tokens)


register(ViewHopPolicy())
