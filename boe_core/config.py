"""Decoding settings, validated before any compute: every error names the field and the value.

`DecodeConfig` holds what every decode shares (policy name, steps, blocks, temperature, seed) and
the chosen policy's own settings dataclass (`settings`), which the policy registers with itself.
Keyword overrides (`config.replace(rho=0.5)`) go to the top level or to the settings; a setting
that belongs to another policy's settings is ignored, a name no policy knows is refused.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import ConfigError, finite, is_int
from .policies import POLICIES

MAX_STEPS = 1024  # the explorer records every step; more than this is a typo, not a decode


def _policy(name):
    return POLICIES.get(name, None)


def known_settings() -> dict[str, set[str]]:
    """Setting names per registered policy."""
    return {n: {f.name for f in fields(p.settings_cls)} for n, p in POLICIES.items()}


def make_settings(policy: str, values: dict | None = None):
    """The policy's settings dataclass from a dict: its own fields are used, other policies'
    fields are ignored, names that no policy knows raise a ConfigError."""
    values = dict(values or {})
    every = set().union(*known_settings().values())
    for k in values:
        if k not in every:
            raise ConfigError(k, values[k], f"unknown setting; known: {sorted(every)}")
    p = _policy(policy)
    own = {f.name for f in fields(p.settings_cls)} if p is not None else set()
    foreign = set(values) - own
    if foreign:  # not used by this policy, but a bad value is still refused, naming the field
        for other in POLICIES.values():
            names = {f.name for f in fields(other.settings_cls)}
            if names & foreign:
                other.settings_cls(**{k: v for k, v in values.items() if k in names}).validate()
    if p is None:
        return None
    return p.settings_cls(**{k: v for k, v in values.items() if k in own})


def policy_settings(policy: str, values=None):
    """The settings of `policy` from raw values keyed by its own knob names (a dict, a JSON object
    string, or None for all defaults). Values may be strings or UI numbers (parsed by each knob's
    declaration). A name the policy does not have is refused, naming the policy and its settings:
    settings are addressed per policy, so a knob of another policy is a mistake, not a no-op."""
    import json

    from .knobs import knobs_of, settings_from_values

    p = _policy(policy)
    if p is None:
        raise ConfigError("policy", policy, f"unknown policy; known: {', '.join(sorted(POLICIES))}")
    if isinstance(values, str):
        try:
            values = json.loads(values) if values.strip() else {}
        except json.JSONDecodeError as e:
            raise ConfigError("settings", values, f"must be a JSON object ({e.msg})") from None
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ConfigError("settings", values, "must be an object of setting name -> value")
    own = [k.name for k in knobs_of(p.settings_cls)]
    for name in values:
        if name not in own:
            raise ConfigError(f"settings.{name}", values[name], f"is not a setting of policy {policy!r}; "
                                                                  f"its settings: {', '.join(own) or 'none'}")
    return settings_from_values(p.settings_cls, values)


@dataclass
class DecodeConfig:
    policy: str = "confidence"
    steps: int = 32
    block_length: int | None = None  # None: the whole masked region is one block
    temperature: float = 0.0
    seed: int = 0
    topk_record: int = 5  # top proposals kept per masked position (for the explorer's hover)
    settings: object = None  # the policy's settings dataclass (or a dict of its fields); None: defaults

    def __post_init__(self):
        if self.settings is None or isinstance(self.settings, dict):
            self.settings = make_settings(self.policy, self.settings)

    def validate(self) -> "DecodeConfig":
        p = _policy(self.policy)
        if p is None:
            raise ConfigError("policy", self.policy, f"unknown policy; known: {', '.join(sorted(POLICIES))}")
        if not is_int(self.steps) or self.steps < 1:
            raise ConfigError("steps", self.steps, "must be a positive integer")
        if self.steps > MAX_STEPS:
            raise ConfigError("steps", self.steps, f"is too large (max {MAX_STEPS})")
        if self.block_length is not None and (not is_int(self.block_length) or self.block_length < 1):
            raise ConfigError("block_length", self.block_length, "must be a positive integer or None")
        if not finite(self.temperature) or self.temperature < 0:
            raise ConfigError("temperature", self.temperature, "must be a finite number >= 0")
        if self.temperature > 100:
            raise ConfigError("temperature", self.temperature, "is too large (max 100)")
        if not is_int(self.seed) or self.seed < 0:
            raise ConfigError("seed", self.seed, "must be a non-negative integer")
        if self.seed > 2**63 - 1:
            raise ConfigError("seed", self.seed, "is too large (max 2**63 - 1)")
        if not is_int(self.topk_record) or not (1 <= self.topk_record <= 50):
            raise ConfigError("topk_record", self.topk_record, "must be an integer in [1, 50]")
        if not isinstance(self.settings, p.settings_cls):  # e.g. BoE knobs given with policy="confidence"
            self.settings = make_settings(self.policy, _as_dict(self.settings))
        self.settings.validate()
        return self

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "settings"}
        d["settings"] = _as_dict(self.settings)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DecodeConfig":
        d = dict(d)
        settings = d.pop("settings", None)
        if "boe" in d:  # trace schema v1: the BoE/lookahead knobs lived under "boe"
            v1 = d.pop("boe") or {}
            if settings is None:
                every = set().union(*known_settings().values())
                settings = {k: v for k, v in v1.items() if k in every}
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError("config", sorted(unknown)[0], f"unknown field; known: {sorted(known)}")
        return cls(settings=dict(settings or {}), **d)

    def replace(self, **changes) -> "DecodeConfig":
        """A copy with top-level fields or settings changed (``rho=0.5`` goes to the settings)."""
        d = self.to_dict()
        settings = d.pop("settings")
        top = {f.name for f in fields(DecodeConfig)} - {"settings"}
        for k, v in changes.items():
            if k in top:
                d[k] = v
            elif k == "settings":
                settings = _as_dict(v)
            else:
                settings[k] = v
        return DecodeConfig.from_dict({**d, "settings": settings})


def _as_dict(settings) -> dict:
    if settings is None:
        return {}
    return dict(settings) if isinstance(settings, dict) else asdict(settings)
