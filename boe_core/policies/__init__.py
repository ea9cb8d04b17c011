"""Policies: one scoring function per file, each with its settings (knobs) and signals.

Every module of this package is imported when the registry is first used, and registers its
policies itself (`register(MyPolicy())` at the bottom of the file), so a new built-in policy is
one new file. Policies from elsewhere (a plugin, a test) call `register` the same way.
"""
from __future__ import annotations

from .base import POLICIES, NoSettings, Policy, PolicyResult, StepContext, get_policy, register
from .boe import BoESettings
from .selection import EntropyDropSettings

__all__ = ["BoESettings", "EntropyDropSettings", "NoSettings", "POLICIES", "Policy", "PolicyResult",
           "StepContext", "get_policy", "register"]
