"""The root-finder registry: name -> a function scoring every decoded commit of one row of a
finished trace (higher = more suspect of being the root of a cascade).

    scores = ROOT_FINDERS.get("leave-one-out").score(model, trace, row)   # aligned with commits_of

Finders are registered explicitly by `boe_core.roots` (one module each, no discovery).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..numerics import suppress
from ..registry import Registry


@dataclass(frozen=True)
class RootFinder:
    name: str
    fn: Callable  # (model, trace, row, counterfactuals=None) -> (n_commits,) float scores
    description: str
    one_pass: bool = True  # no rollouts: a few forwards (or one backward) per run
    needs_counterfactuals: bool = False
    order: int = 100
    # a finder built from other finders' scores: their names, and the function of their scores
    # ({name: (n,) array} -> (n,) array) that `fn` also applies; lets the bench reuse cached scores
    inputs: tuple[str, ...] = ()
    combine: Callable | None = None

    def score(self, model, trace, row: int = 0, counterfactuals=None) -> np.ndarray:
        out = np.asarray(self.fn(model, trace, row, counterfactuals), np.float64)
        return np.where(np.isnan(out), -np.inf, out)  # a commit a finder cannot score ranks last

    def from_scores(self, scores: dict) -> np.ndarray:
        """This finder's scores from its inputs' scores (a finder with `combine` only)."""
        if self.combine is None:
            raise ValueError(f"root finder {self.name!r} is not built from other finders' scores")
        out = np.asarray(self.combine({k: np.asarray(scores[k], np.float64) for k in self.inputs}), np.float64)
        return np.where(np.isnan(out), -np.inf, out)


ROOT_FINDERS: Registry[RootFinder] = Registry("root finder")


def register_finder(name: str, description: str, one_pass: bool = True, needs_counterfactuals: bool = False,
                    order: int = 100, inputs: tuple[str, ...] = (), combine: Callable | None = None):
    """Decorator: register a scoring function under `name`."""
    def deco(fn):
        ROOT_FINDERS.register(RootFinder(name, fn, description, one_pass, needs_counterfactuals, order, inputs,
                                         combine))
        return fn
    return deco


def log_probs(model, ids: torch.Tensor, am, positions: torch.Tensor, tokens: torch.Tensor,
              chunk: int = 128) -> torch.Tensor:
    """log p(tokens[i] at positions[i] | ids[i]) in float32, `chunk` canvases a batched forward.
    `ids` (M, N) holds the canvases to read (already masked where wanted)."""
    out = []
    for i in range(0, ids.shape[0], chunk):
        sl = slice(i, i + chunk)
        a = None if am is None else am[sl]
        lg = model.head(model.hidden(model.embed(ids[sl]), a)[torch.arange(ids[sl].shape[0]), positions[sl]])
        lp = torch.log_softmax(suppress(lg, model.suppressed_ids), -1)
        out.append(lp.gather(1, tokens[sl, None]).squeeze(1))
    return torch.cat(out) if out else torch.zeros(0)
