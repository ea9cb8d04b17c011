"""Position-aware calibration (PC-Sampler; Huang et al. 2025, arXiv:2508.13021).

Each eligible position i with proposal x̂_i scores

    exp(-λ (i - i0)) · min(α, -p(x̂_i) · log f(x̂_i)),

where f is the background frequency of the token in the model's own training targets (a token
the data is full of, such as [EOS] padding, earns little for being confident) and the exponential
prefers the left of the block (i0: the row's first eligible position; a per-row constant does not
change the order). The top-b by that score are committed: a fixed-count sampler whose budget is
the number of steps. Knobs: λ = `lam_pos`, α = `alpha_clip` (BoE's `lam` and `alpha` mean other things).

The prior ships beside the model as `token_prior.json` (scripts/make_token_prior.py); a model
without one is refused with the command that makes it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError, finite
from ..knobs import knob
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, no_fallback, register

PRIOR_FILE = "token_prior.json"


@dataclass
class PCSettings:
    lam_pos: float = knob(0.25, "λ · position decay", "exp(−λ·offset) weight: larger commits more strictly left "
                      "to right (0 = no position prior)", range=(0.0, 4.0), step=0.01, group="pc")
    alpha_clip: float = knob(10.0, "α · calibration clip", "cap of −p·log f, so rare tokens do not dominate",
                        range=(0.0, 100.0), step=0.1, group="pc")

    def validate(self):
        if not finite(self.lam_pos) or self.lam_pos < 0:
            raise ConfigError("lam_pos", self.lam_pos, "must be a finite number >= 0")
        if not finite(self.alpha_clip) or self.alpha_clip <= 0:
            raise ConfigError("alpha_clip", self.alpha_clip, "must be a finite number > 0")
        return self


CALIBRATED = Signal("pc_calibrated", "−p·log f (calibrated confidence)", colorscale="Cividis",
                    description="confidence times the surprise of the token under the training data's "
                                "token frequencies, clipped at α")


def model_dir(adapter) -> Path:
    """The folder the model was loaded from (`load_model` records it): the prior ships there."""
    d = getattr(adapter, "model_dir", None)
    if d is None:
        raise ConfigError("policy", "pc", f"model {getattr(adapter, 'name', '?')!r} was not loaded from a folder, so "
                                          f"it has no {PRIOR_FILE}; load it with boe_core.load_model(<folder>)")
    return Path(d)


def read_prior(path: Path, vocab_size: int) -> torch.Tensor:
    """(V,) float64 token frequencies from a token_prior.json; unseen tokens get 1 / total."""
    d = json.loads(Path(path).read_text())
    total = float(d["total"])
    if not total > 0:
        raise ConfigError("token_prior", str(path), "total must be > 0")
    f = torch.full((vocab_size,), 1.0 / total, dtype=torch.float64)
    for k, n in d["counts"].items():
        if 0 <= int(k) < vocab_size and n > 0:
            f[int(k)] = n / total
    return f


def pc_scores(confidence, proposals, eligible, prior: torch.Tensor, lam: float, alpha: float):
    """(scores (B, N) float64, -inf off eligible; calibrated term (B, N))."""
    pos = torch.arange(eligible.shape[1], device=eligible.device, dtype=torch.float64).expand(eligible.shape)
    first = torch.where(eligible, pos, torch.full_like(pos, float("inf"))).amin(1, keepdim=True)
    offset = torch.where(eligible, pos - first.clamp(max=eligible.shape[1]), torch.zeros_like(pos))
    f = prior.to(confidence.device)[proposals.clamp(min=0)]
    calibrated = torch.clamp(-confidence.double() * torch.log(f), max=alpha)
    return masked_scores(torch.exp(-lam * offset) * calibrated, eligible), calibrated


class PCPolicy(Policy):
    name = "pc"
    description = "PC-Sampler: confidence calibrated by the training data's token frequencies, left of the block first"
    settings_cls = PCSettings
    signals = (CALIBRATED,)
    order = 33

    def __init__(self):
        self._priors: dict = {}

    def presets(self):
        return {"PC-Sampler (λ=0.25, α=10)": {}, "PC-Sampler · calibration only (λ=0)": {"lam_pos": 0.0}}

    def prior(self, adapter, vocab_size: int) -> torch.Tensor:
        path = model_dir(adapter) / PRIOR_FILE
        if path not in self._priors:
            if not path.is_file():
                raise ConfigError("policy", "pc", f"model {getattr(adapter, 'name', '?')!r} has no {PRIOR_FILE} "
                                  f"(make it with: python scripts/make_token_prior.py --model <name>)")
            self._priors[path] = read_prior(path, vocab_size)
        return self._priors[path]

    def score(self, ctx: StepContext) -> PolicyResult:
        cfg = ctx.settings
        prior = self.prior(ctx.adapter, ctx.stats.log_probs.shape[-1])
        s, cal = pc_scores(ctx.stats.confidence, ctx.stats.proposals, ctx.eligible, prior, cfg.lam_pos, cfg.alpha_clip)
        cal = torch.where(ctx.masked, cal, torch.full_like(cal, float("nan"))).float()
        return PolicyResult(s, no_fallback(ctx), signals={"pc_calibrated": cal})


register(PCPolicy())
