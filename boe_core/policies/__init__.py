"""Policy registry: name -> scoring function object (each with its settings class and signals)."""
from __future__ import annotations

from ..errors import ConfigError
from .base import NoSettings, Policy, PolicyResult, StepContext
from .boe import BoEPolicy, BoESettings
from .local import ConfidencePolicy, EntropyPolicy, MarginPolicy, RandomPolicy
from .lookahead import LookaheadPolicy
from .selection import EntropyDropSettings

POLICIES: dict[str, Policy] = {}


def register(policy: Policy) -> Policy:
    """Add a policy (an instance with `name`, `settings_cls`, `signals` and `score`)."""
    if not policy.name:
        raise ValueError("a policy needs a name")
    POLICIES[policy.name] = policy
    return policy


for _p in (RandomPolicy(), ConfidencePolicy(), MarginPolicy(), EntropyPolicy(), LookaheadPolicy(), BoEPolicy()):
    register(_p)


def get_policy(name: str) -> Policy:
    if name not in POLICIES:
        raise ConfigError("policy", name, f"unknown policy; known: {', '.join(sorted(POLICIES))}")
    return POLICIES[name]


__all__ = ["BoESettings", "EntropyDropSettings", "NoSettings", "POLICIES", "Policy", "PolicyResult",
           "StepContext", "get_policy", "register"]
