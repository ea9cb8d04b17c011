"""Decoding settings, validated before any compute: every error names the field and the value."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from .errors import ConfigError

LINEARIZE_OPTIONS = ("current", "surrogate")
PROBE_SCOPES = ("canvas", "block")


@dataclass
class BoEConfig:
    """Knobs of BoE steering (and of lookahead, which shares candidates, probes and selection)."""

    r: int | None = None  # candidates per step; None -> max(8, 4*b)
    rho: float = 0.25  # active fraction of masked positions used as entropy probes
    # confidence exponent in the selection score; 2 was best in the Sudoku validation tuning
    # (results/sudoku_tuned.json: solve rate 0.730 vs 0.675 at 1, 100 val puzzles)
    gamma: float = 2.0
    lam: float = 0.2  # weight of the anti-collapse penalty
    h_max: float = 0.3  # anti-collapse entropy floor at t = T
    tau_s: float = 1.0  # soft-write temperature
    linearize_at: str = "current"
    probe_scope: str = "canvas"
    use_aqa: bool = True  # sparse backward through ActiveQueryAttention where the model supports it
    # ... but only while the active rows are at most this fraction of the canvas: above it the
    # dense backward is both exact and cheaper (AQA recomputes the active rows). 1.0 = always.
    aqa_max_active: float = 0.5

    def validate(self) -> "BoEConfig":
        if self.r is not None and (not isinstance(self.r, int) or isinstance(self.r, bool) or self.r < 1):
            raise ConfigError("r", self.r, "must be a positive integer (or None for max(8, 4b))")
        if not _finite(self.rho) or not (0 < self.rho <= 1):
            raise ConfigError("rho", self.rho, "must be in (0, 1]")
        for name in ("gamma", "lam", "h_max"):
            v = getattr(self, name)
            if not _finite(v) or v < 0:
                raise ConfigError(name, v, "must be a finite number >= 0")
        if not isinstance(self.use_aqa, bool):
            raise ConfigError("use_aqa", self.use_aqa, "must be true or false")
        if not _finite(self.aqa_max_active) or not (0 < self.aqa_max_active <= 1):
            raise ConfigError("aqa_max_active", self.aqa_max_active, "must be in (0, 1]")
        if not _finite(self.tau_s) or self.tau_s <= 0:
            raise ConfigError("tau_s", self.tau_s, "must be a finite number > 0")
        if self.linearize_at not in LINEARIZE_OPTIONS:
            raise ConfigError("linearize_at", self.linearize_at, f"must be one of {LINEARIZE_OPTIONS}")
        if self.probe_scope not in PROBE_SCOPES:
            raise ConfigError("probe_scope", self.probe_scope, f"must be one of {PROBE_SCOPES}")
        return self


@dataclass
class DecodeConfig:
    policy: str = "confidence"
    steps: int = 32
    block_length: int | None = None  # None: the whole masked region is one block
    temperature: float = 0.0
    seed: int = 0
    boe: BoEConfig = field(default_factory=BoEConfig)
    topk_record: int = 5  # top proposals kept per masked position (for the explorer's hover)

    def validate(self) -> "DecodeConfig":
        from .policies import POLICIES

        if self.policy not in POLICIES:
            raise ConfigError("policy", self.policy, f"unknown policy; known: {', '.join(sorted(POLICIES))}")
        if not _is_int(self.steps) or self.steps < 1:
            raise ConfigError("steps", self.steps, "must be a positive integer")
        if self.block_length is not None and (not _is_int(self.block_length) or self.block_length < 1):
            raise ConfigError("block_length", self.block_length, "must be a positive integer or None")
        if not _finite(self.temperature) or self.temperature < 0:
            raise ConfigError("temperature", self.temperature, "must be a finite number >= 0")
        if self.temperature > 100:
            raise ConfigError("temperature", self.temperature, "is too large (max 100)")
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError("seed", self.seed, "must be a non-negative integer")
        if not _is_int(self.topk_record) or not (1 <= self.topk_record <= 50):
            raise ConfigError("topk_record", self.topk_record, "must be an integer in [1, 50]")
        self.boe.validate()
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DecodeConfig":
        d = dict(d)
        boe = BoEConfig(**{k: v for k, v in (d.pop("boe", None) or {}).items()
                           if k in {f.name for f in fields(BoEConfig)}})
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError("config", sorted(unknown)[0], f"unknown field; known: {sorted(known)}")
        return cls(boe=boe, **d)

    def replace(self, **changes) -> "DecodeConfig":
        """A copy with top-level or BoE fields changed (``rho=0.5`` goes to ``boe``)."""
        d = self.to_dict()
        boe_fields = {f.name for f in fields(BoEConfig)}
        for k, v in changes.items():
            if k in boe_fields:
                d["boe"][k] = v
            else:
                d[k] = v
        return DecodeConfig.from_dict(d)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)
