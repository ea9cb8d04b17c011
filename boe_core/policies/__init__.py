"""Policy registry: name -> scoring function object."""
from __future__ import annotations

from ..errors import ConfigError
from .base import Policy, PolicyResult, StepContext
from .boe import BoEPolicy
from .local import ConfidencePolicy, EntropyPolicy, MarginPolicy, RandomPolicy
from .lookahead import LookaheadPolicy

POLICIES: dict[str, Policy] = {}


def register(policy: Policy) -> Policy:
    POLICIES[policy.name] = policy
    return policy


for _p in (RandomPolicy(), ConfidencePolicy(), MarginPolicy(), EntropyPolicy(), LookaheadPolicy(), BoEPolicy()):
    register(_p)


def get_policy(name: str) -> Policy:
    if name not in POLICIES:
        raise ConfigError("policy", name, f"unknown policy; known: {', '.join(sorted(POLICIES))}")
    return POLICIES[name]


__all__ = ["POLICIES", "Policy", "PolicyResult", "StepContext", "get_policy", "register"]
