"""KL-adaptive stability sampling (KLASS; Kim et al. 2025, arXiv:2511.05664).

A position is committed when it is both confident and stable: its confidence clears τ and the KL
divergence between its predictive distributions at consecutive steps stayed below ε over the
last `history` steps. If no position qualifies, the most confident one is committed.

Stability needs the previous steps' distributions. The loop keeps no state between steps, so the
policy keeps them itself, per sequence, keyed by the canvas the next step will see (this step's
canvas with this step's commits): a decode that continues from here finds them, any other canvas
(a new decode, a branch, a replay from a trace) starts without history, where nothing is stable
yet and KLASS commits its top-1 until the history fills (as the paper's first steps do).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

from ..errors import ConfigError, finite, is_int
from ..knobs import knob
from ..signals import Signal
from .base import Policy, PolicyResult, StepContext, masked_scores, register
from .commits import count_note, fallback_note, fmt, with_top1

HISTORY_BYTES = 256 * 2**20  # the kept distributions, all sequences together


@dataclass
class KlassSettings:
    tau: float = knob(0.9, "τ · confidence threshold", "a token must be at least this confident",
                      range=(0.0, 1.0), step=0.01, group="klass")
    eps_kl: float = knob(0.01, "ε · KL stability bound", "KL(p_t ‖ p_t−1) must stay below ε (nats)",
                         range=(0.0, 10.0), step=0.001, group="klass")
    history: int = knob(2, "history · stable steps", "consecutive steps the KL must stay below ε",
                        kind="int", range=(1, 8), group="klass")

    def validate(self):
        if not finite(self.tau) or not (0 <= self.tau <= 1):
            raise ConfigError("tau", self.tau, "must be in [0, 1]")
        if not finite(self.eps_kl) or self.eps_kl < 0:
            raise ConfigError("eps_kl", self.eps_kl, "must be a finite number >= 0")
        if not is_int(self.history) or not (1 <= self.history <= 8):
            raise ConfigError("history", self.history, "must be an integer in [1, 8]")
        return self


KL_STEP = Signal("kl_step", "KL to the previous step", colorscale="Magma",
                 description="KL(p_t ‖ p_t−1) of each masked position's prediction (NaN without history)")


def klass_commit(confidence, eligible, kl_recent: torch.Tensor, tau: float, eps_kl: float):
    """kl_recent: (B, N, H) the last H KLs of each position (inf where unknown).
    (commit (B, N), ready (B,) counts, rows that fell back to their top-1)."""
    stable = (kl_recent < eps_kl).all(-1)
    ready = eligible & (confidence > tau) & stable
    commit, fell_back = with_top1(ready, eligible, confidence)
    return commit, ready.sum(1), fell_back


def kl_divergence(logp_now: torch.Tensor, logp_before: torch.Tensor) -> torch.Tensor:
    """KL(p_now ‖ p_before) per row, float32; suppressed ids (-inf in both) contribute 0."""
    p = logp_now.exp()
    diff = torch.where(p > 0, logp_now - logp_before.clamp(min=-1e4), torch.zeros_like(p))
    return (p * diff).sum(-1)


class StabilityHistory:
    """Per-sequence predictive distributions of the last step and KL histories, least recently
    used dropped first once HISTORY_BYTES are held."""

    def __init__(self, max_bytes: int = HISTORY_BYTES):
        self.max_bytes = max_bytes
        self.items: OrderedDict = OrderedDict()
        self.bytes = 0

    @staticmethod
    def key(model, settings, row: torch.Tensor) -> tuple:
        return (model, repr(settings), row.detach().cpu().numpy().tobytes())

    def pop(self, key):
        item = self.items.pop(key, None)
        if item is not None:
            self.bytes -= item[0].numel() * 4 + item[1].numel() * 4
        return item

    def put(self, key, logp: torch.Tensor, kls: torch.Tensor):
        self.items[key] = (logp, kls)
        self.bytes += logp.numel() * 4 + kls.numel() * 4
        while self.bytes > self.max_bytes and self.items:
            _, (a, b) = self.items.popitem(last=False)
            self.bytes -= a.numel() * 4 + b.numel() * 4


class KlassPolicy(Policy):
    name = "klass"
    description = "KLASS: commit tokens that are confident (≥ τ) and stable across steps (KL < ε)"
    settings_cls = KlassSettings
    signals = (KL_STEP,)
    order = 32

    def __init__(self):
        self.memory = StabilityHistory()

    def presets(self):
        return {"KLASS (τ=0.9, ε=0.01)": {}}

    def score(self, ctx: StepContext) -> PolicyResult:
        cfg = ctx.settings
        B, N = ctx.ids.shape
        H = cfg.history
        model = getattr(ctx.adapter, "name", id(ctx.adapter))
        full = torch.full((B, N, H), float("inf"), device=ctx.ids.device)
        kl_now = torch.full((B, N), float("nan"), device=ctx.ids.device)
        logp = torch.full((B, N, ctx.stats.log_probs.shape[-1]), float("-inf"), device=ctx.ids.device)
        logp[ctx.masked] = ctx.stats.log_probs_at(ctx.masked).float()
        for i in range(B):
            prev = self.memory.pop(StabilityHistory.key(model, cfg, ctx.ids[i]))
            if prev is None:
                continue
            before, kls = prev
            m = ctx.masked[i]
            kl_now[i, m] = kl_divergence(logp[i, m], before.to(logp.device)[m])
            if H > 1:
                full[i, :, :H - 1] = kls.to(full.device)[:, 1:]
            full[i, :, H - 1] = torch.where(m, kl_now[i], torch.full_like(kl_now[i], float("inf")))
        commit, ready, fell_back = klass_commit(ctx.stats.confidence, ctx.eligible, full, cfg.tau, cfg.eps_kl)
        after = torch.where(commit, ctx.stats.proposals, ctx.ids)
        for i in range(B):  # what the next step of this decode will look up
            self.memory.put(StabilityHistory.key(model, cfg, after[i]), logp[i].cpu(), full[i].cpu())
        why = f"cleared τ = {fmt(cfg.tau)} and stayed stable (KL < {fmt(cfg.eps_kl)} over {H} step{'s' * (H > 1)})"
        notes = [count_note(ready, why, ctx.eligible.any(1))] + fallback_note(fell_back, "none was confident and stable")
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), fell_back,
                            signals={"kl_step": kl_now}, notes=notes, commit=commit)


register(KlassPolicy())
