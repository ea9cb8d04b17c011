"""Policies: one scoring function per file, each with its settings (knobs) and signals.

The built-ins are imported here, one line each, and each registers itself at the bottom of its
file (`register(MyPolicy())`): a new built-in policy is one new file and one line below. Policies
from elsewhere (a plugin, a test) call `register` the same way.
"""
from __future__ import annotations

from .base import POLICIES, NoSettings, Policy, PolicyResult, StepContext, get_policy, register
from .boe import BoESettings
from .selection import EntropyDropSettings

# the built-ins, in no particular order (menus sort by each policy's `order`)
from . import boe, boe_adaptive, boe_revise, eb, infogain, klass, local, lookahead, oracle, pc, planner, rcr, remdm, threshold, view_hop  # noqa: E402,F401,I001

__all__ = ["BoESettings", "EntropyDropSettings", "NoSettings", "POLICIES", "Policy", "PolicyResult",
           "StepContext", "get_policy", "register"]
