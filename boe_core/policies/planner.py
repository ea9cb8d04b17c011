"""The planner: confidence where the model is sure; where it hesitates, several views decide (issue #29).

At a step where some eligible position's confidence clears τ (0.99), it commits every such position,
as a strict threshold sampler would: along right decodes of hard Sudoku no such pick was ever wrong
(docs/ordering_gap.md, the probe-order study). Where none clears τ (an *uncertain* state, where
confidence's pick is wrong about a quarter of the time) it commits one position: the one whose
proposal the model believes most when it reads the canvas in `views` symmetric views as well
(relabelled digits, permuted rows, columns, bands, stacks, a transpose: `tasks.sudoku.symmetry`),
averaging the log-probability of the proposal over the views. A model that is not exactly
invariant to those maps is often sure, in one view, of a cell it hesitates on in another.

With `head` on, the views are read by the planner head shipped beside the model
(`<model folder>/planner`: a copy of the model fine-tuned at its uncertain states, trained by
`python -m boe_core.train sudoku-planner`) instead of the model itself.

Cost: one extra forward per view (and one for the head's own reading) at a step that asks; every
other step is one forward. The views need a 9×9 Sudoku canvas; `views=0` works on any model.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from ..numerics import top_mask
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, register
from .commits import count_note, fmt
from .selection import CANDIDATES

HEAD_DIR = "planner"
SCORE = Signal("planner_score", "planner: mean log p(proposal) over views", colorscale="RdYlGn",
               description="at a step where no position clears τ: the proposal's log-probability averaged over "
                           "the symmetric views (the planner commits the highest)")


@dataclass
class PlannerSettings:
    tau: float = knob(0.99, "τ · sure confidence", "positions at or above this confidence are committed at "
                      "once (as the threshold sampler does); a step with none commits the one the views "
                      "believe most", range=(0.5, 1.0), step=0.005, group="planner")
    views: int = knob(4, "views · symmetric readings", "extra readings of the canvas under fixed Sudoku "
                      "symmetries at a step where nothing clears τ (0: the model's own confidence)",
                      range=(0, 16), group="planner")
    head: bool = knob(False, "read with the planner head", "the views are read by the fine-tuned copy shipped "
                      "in <model folder>/planner instead of the model", group="planner")

    def validate(self):
        if not finite(self.tau) or not (0.5 <= self.tau <= 1.0):
            raise ConfigError("tau", self.tau, "must be in [0.5, 1]")
        if isinstance(self.views, bool) or not isinstance(self.views, int) or not 0 <= self.views <= 16:
            raise ConfigError("views", self.views, "must be an integer in [0, 16]")
        if not isinstance(self.head, bool):
            raise ConfigError("head", self.head, "must be true or false")
        return self


@lru_cache(maxsize=4)
def _load(path: str, mtime: float, device: str):
    from ..models.tiny_mdm import TinyMDM

    model = TinyMDM.from_pretrained(path, device=device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def head_for(adapter):
    """The planner head shipped beside `adapter`'s model, or a ConfigError saying how to get one."""
    src = getattr(adapter, "model_dir", None)  # set by load_model for a model folder
    cfg = Path(src) / HEAD_DIR / "config.json" if src is not None else None
    if cfg is None or not cfg.is_file():
        raise ConfigError("head", True, f"model {getattr(adapter, 'name', '?')!r} has no planner head "
                          f"(<model folder>/{HEAD_DIR}); train one with `python -m boe_core.train sudoku-planner`, "
                          "or set head=false")
    return _load(str(cfg.parent.resolve()), cfg.stat().st_mtime, str(adapter.device))


def sudoku_digits(adapter, n_positions: int, settings, knob: str | None = None) -> torch.Tensor:
    """The token ids of '1'..'9' of a 9×9 Sudoku model, or a ConfigError naming the knob that needs
    one (`knob`; the planner's: views or head)."""
    from ..tasks.sudoku import digit_ids

    if getattr(adapter, "task", None) != "sudoku" or n_positions != 81:
        knob_ = knob or ("views" if settings.views else "head")
        fix = "set views=0 and head=false" if knob is None else "use another policy"
        raise ConfigError(knob_, getattr(settings, knob_), "needs a 9×9 Sudoku model and canvas "
                          f"(this is {getattr(adapter, 'name', '?')!r}); {fix}")
    return torch.tensor(digit_ids(adapter.tokenizer), device=adapter.device)


def digit_index(tokens: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
    """0-based digit (0..8) of each token id in `tokens`, by comparison with the digit ids (0 where
    a token is not a digit)."""
    return (tokens[..., None] == digits).float().argmax(-1)


def own_digit_log_probs(ctx: StepContext, rows: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
    """(R, 81, 9) float32: the step's own forward as log-probabilities over the digits, at the
    masked cells of the (R,) rows (0 elsewhere); no extra pass."""
    masked = ctx.masked[rows]
    own = torch.zeros(*masked.shape, 9, device=masked.device)
    where = torch.zeros_like(ctx.masked)
    where[rows] = masked
    own[masked] = ctx.stats.log_probs_at(where)[:, digits].float().log_softmax(-1)
    return own


def view_scores(ctx: StepContext, rows: torch.Tensor, digits: torch.Tensor | None) -> tuple[torch.Tensor, int]:
    """((R, N) float64 mean log p(proposal) over the readings, forwards it took) for the (R,) rows;
    `digits`: the Sudoku digit ids (None when neither views nor the head are asked for)."""
    from ..tasks.sudoku.symmetry import view_log_probs

    s = ctx.settings
    if digits is None:  # the model's own reading: its confidence, on any model
        return ctx.stats.confidence[rows].double().clamp_min(1e-300).log(), 0
    ids, masked = ctx.ids[rows], ctx.masked[rows]
    prop = digit_index(ctx.stats.proposals[rows], digits)
    if s.head:
        head = head_for(ctx.adapter)
        reader = lambda x: head(input_ids=x)  # noqa: E731
        readings = view_log_probs(reader, ids, digits, s.views)
        own = head(input_ids=ids)[..., digits].float().log_softmax(-1)[None]
        readings, forwards = torch.cat([own, readings]), s.views + 1
    else:  # the canvas itself is the step's own forward: no extra pass
        own = own_digit_log_probs(ctx, rows, digits)
        readings = torch.cat([own[None], view_log_probs(ctx.adapter.logits, ids, digits, s.views)])
        forwards = s.views
    mean = readings.double().mean(0)  # (R, N, 9)
    return mean.gather(-1, prop[..., None]).squeeze(-1), forwards


class PlannerPolicy(Policy):
    name = "planner"
    order = 45
    description = "confidence where the model is sure; where it hesitates, symmetric views of the canvas pick one"
    settings_cls = PlannerSettings
    signals = (SCORE, CANDIDATES)

    def presets(self):
        return {"planner (symmetric views where unsure)": {}, "planner · no views (τ = 0.99, confidence)": {"views": 0}}

    def score(self, ctx: StepContext) -> PolicyResult:
        s = ctx.settings
        # refused at the first step, asked or not
        digits = sudoku_digits(ctx.adapter, ctx.ids.shape[1], s) if s.views or s.head else None
        if s.head:
            head_for(ctx.adapter)
        conf = ctx.stats.confidence
        sure = ctx.eligible & (conf >= s.tau)
        ask = ctx.eligible.any(1) & ~sure.any(1)
        scores = masked_scores(conf, ctx.eligible)
        commit = sure.clone()
        signals, extra = {}, 0
        notes = [count_note(sure.sum(1), f"cleared τ = {fmt(s.tau)}", ctx.eligible.any(1))]
        if bool(ask.any()):
            rows = ask.nonzero().squeeze(1)
            with torch.no_grad():
                vs, extra = view_scores(ctx, rows, digits)
            row_scores = masked_scores(vs, ctx.eligible[rows])
            scores[rows] = row_scores
            commit[rows] = top_mask(row_scores, ctx.eligible[rows], 1)
            sig = torch.full(conf.shape, float("nan"), dtype=torch.float32, device=conf.device)
            sig[rows] = torch.where(ctx.eligible[rows], vs.float(), torch.full_like(vs.float(), float("nan")))
            signals[SCORE.name] = sig
            # the rows that read views pay their forwards (bench.cost.row_costs), the others do not
            signals[CANDIDATES.name] = torch.zeros_like(ctx.eligible).index_put_((rows,), ctx.eligible[rows])
            notes.append(f"{len(rows)} row(s) had none: {s.views} view(s)"
                         f"{' read by the head' if s.head else ''} chose one position")
        return PolicyResult(scores, torch.zeros_like(ask), signals, extra_forwards=extra, notes=notes, commit=commit)


register(PlannerPolicy())
