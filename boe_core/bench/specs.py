"""Policy specs: a policy name with optional setting overrides, written on one line.

    confidence
    lookahead:r=8
    boe:linearize_at=surrogate
    boe:rho=0.5,gamma=2          (or boe:rho=0.5:gamma=2)

Any DecodeConfig field or policy setting may be overridden (``temperature``, ``block_length``,
``r``, ``rho``, ``gamma``, ``lam``, ``h_max``, ``tau_s``, ``linearize_at``, ``probe_scope``,
``use_aqa`` ...); ``steps`` and ``seed`` belong to the sweep and are refused here. Every spec is
validated (against a real DecodeConfig) before any model is loaded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from ..config import DecodeConfig, known_settings
from ..errors import ConfigError
from ..policies import POLICIES

_RESERVED = ("steps", "seed", "policy")


def known_overrides() -> set[str]:
    """DecodeConfig fields and every policy's setting names."""
    return ({f.name for f in fields(DecodeConfig)} | set().union(*known_settings().values())) - {"settings"}


def parse_value(s: str):
    """'8' -> 8, '0.5' -> 0.5, 'true' -> True, 'none' -> None, anything else stays a string."""
    low = s.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    if re.fullmatch(r"[+-]?\d+", low):
        return int(low)
    try:
        return float(low)
    except ValueError:
        return s.strip()


@dataclass(frozen=True)
class PolicySpec:
    policy: str
    overrides: tuple = field(default_factory=tuple)  # sorted ((key, value), ...)

    @property
    def label(self) -> str:
        """The canonical spelling (overrides sorted), also the key of a results row."""
        if not self.overrides:
            return self.policy
        return self.policy + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.overrides)

    def config(self, steps: int, seed: int = 0, base: DecodeConfig | None = None) -> DecodeConfig:
        cfg = (base or DecodeConfig()).replace(policy=self.policy, steps=steps, seed=seed,
                                                **dict(self.overrides))
        return cfg.validate()

    def get(self, key, default=None):
        return dict(self.overrides).get(key, default)


def _fmt(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def parse_spec(text: str) -> PolicySpec:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("policy", text, "a policy spec must be a non-empty string like 'boe:rho=0.5'")
    head, _, rest = text.strip().partition(":")
    name = head.strip()
    if name not in POLICIES:
        raise ConfigError("policy", name, f"unknown policy; known: {', '.join(sorted(POLICIES))}")
    kv = {}
    for part in re.split(r"[,:]", rest) if rest.strip() else []:
        if not part.strip():
            continue
        k, eq, v = part.partition("=")
        k = k.strip()
        if not eq:
            raise ConfigError("policy", text, f"override {part!r} must be written key=value")
        if k in _RESERVED:
            raise ConfigError(k, v, "is set by the sweep (--budgets / --seed), not by a policy spec")
        known = known_overrides()
        if k not in known:
            raise ConfigError(k, v, f"unknown setting in {text!r}; known: {', '.join(sorted(known))}")
        kv[k] = parse_value(v)
    spec = PolicySpec(name, tuple(sorted(kv.items())))
    spec.config(steps=1)  # validates every value, naming the field
    return spec


def parse_specs(texts) -> list[PolicySpec]:
    """Parse and de-duplicate (by canonical label), keeping the order given."""
    out, seen = [], set()
    for t in texts:
        s = parse_spec(t)
        if s.label not in seen:
            seen.add(s.label)
            out.append(s)
    return out
