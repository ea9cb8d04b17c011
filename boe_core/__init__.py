"""BoE Explorer core: adapters, policies, the decoding loop and traces.

    from boe_core import load_model, generate
    model = load_model("kjv")
    trace = generate(model, "In the beginning", gen_length=32, policy="boe", steps=32)
    print(model.decode(trace.final_canvas[0]))
"""
from .branch import TrajectoryDiff, branch, diff
from .config import DecodeConfig
from .errors import ConfigError
from .fidelity import Fidelity, spearman, tis_fidelity
from .models import MDMAdapter, TinyMDMAdapter, load_model, shipped_models
from .policies import POLICIES, BoESettings, EntropyDropSettings, get_policy, register
from .signals import Signal, all_signals, overlay_signals
from .sampler import DecodeState, generate, init_state, iterate, state_at, step
from .trace import StepRecord, Trace
from .intervene import intervene
from .counterfactuals import Counterfactuals, counterfactuals
from .roots import find_roots

BoEConfig = BoESettings  # the name before settings moved to their policies

__all__ = [
    "BoEConfig", "BoESettings", "EntropyDropSettings", "Signal", "all_signals", "overlay_signals", "register", "ConfigError", "DecodeConfig", "DecodeState", "Fidelity", "MDMAdapter", "POLICIES",
    "StepRecord", "TinyMDMAdapter", "Trace", "TrajectoryDiff", "branch", "diff", "generate", "get_policy",
    "init_state", "iterate", "load_model", "shipped_models", "spearman", "state_at", "step", "tis_fidelity",
    "intervene", "counterfactuals", "Counterfactuals", "find_roots",
]
