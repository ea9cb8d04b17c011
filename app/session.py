"""Per-session state (kept in `gr.State`) and the parsing of user inputs into a decoding run.

Nothing here imports Gradio: the handlers in `app.handlers` call these functions and the tests call
them directly. Every user mistake raises `ConfigError` (naming the field and the value) or
`UserError`, before any model compute.
"""
from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from boe_core import BoESettings, ConfigError, DecodeConfig
from boe_core.tasks.fields import as_int

MAX_STEPS = 1024


class UserError(ValueError):
    """A request the explorer cannot serve (no trace to branch, a bad upload ...)."""


# --- presets ---------------------------------------------------------------------------------------
_B = BoESettings()
BOE_KNOBS = ("r", "rho", "gamma", "lam", "h_max", "tau_s", "linearize_at", "probe_scope", "use_aqa",
             "gate", "tau_c", "beta", "alpha", "quad_points")
BOE_DEFAULTS = {k: getattr(_B, k) for k in BOE_KNOBS}  # whatever boe_core.policies makes the default


def _boe(**over) -> dict:
    return {"policy": "boe", **BOE_DEFAULTS, **over}


# Every BoE preset is the defaults plus what its name says, so a new default reaches them all.
PRESETS: dict[str, dict] = {
    "BoE default": _boe(),
    "BoE · linearise at the midpoint (α=0.5)": _boe(linearize_at="midpoint", alpha=0.5),
    "BoE · quadrature linearisation (k=3)": _boe(linearize_at="quadrature", quad_points=3),
    "BoE · surrogate linearisation": _boe(linearize_at="surrogate"),
    "BoE · linearise at the current point": _boe(linearize_at="current"),
    "BoE · threshold gate (τ_c=0.9)": _boe(gate="threshold", tau_c=0.9),
    "BoE · additive gate (β=0.5)": _boe(gate="additive", beta=0.5),
    "BoE · dense backward (no AQA)": _boe(use_aqa=False),
    "BoE · probes in block only": _boe(probe_scope="block"),
    "BoE · no anti-collapse (λ=0)": _boe(lam=0.0),
    "confidence": {"policy": "confidence"},
    "margin": {"policy": "margin"},
    "entropy": {"policy": "entropy"},
    "random": {"policy": "random"},
    "lookahead (exact, slow)": {**_boe(), "policy": "lookahead"},
    "lookahead gated (threshold)": {**_boe(gate="threshold", tau_c=0.9), "policy": "lookahead"},
}
DEFAULT_PRESET = "BoE default"
BRANCH_DEFAULT = "confidence"


def preset_overrides(name: str) -> tuple[str, dict]:
    """(policy, BoE knob overrides) of a preset name; a bare policy name is accepted too."""
    from boe_core import POLICIES

    if name in PRESETS:
        p = dict(PRESETS[name])
        return p.pop("policy"), p
    if name in POLICIES:
        return name, {}
    raise ConfigError("policy", name, f"unknown preset or policy; presets: {', '.join(PRESETS)}")


# --- session ---------------------------------------------------------------------------------------
@dataclass
class Session:
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    model: str | None = None
    task: str = "text"
    signature: tuple | None = None
    config: DecodeConfig | None = None
    trace: object = None  # boe_core.Trace
    state: object = None  # boe_core.DecodeState while decoding live; None for a loaded trace
    view: int = -1
    branch: object = None
    diff: object = None
    compare_view: int | None = None
    fidelity: object = None
    heatmap: str = "grad_norm"  # the signal of the Explore tab's third heatmap
    lockin: object = None  # the run's lock-in map (boe_core.lockin.LockInMap)
    fidelity_run: object = None  # the run's whole-run fidelity rows
    notes: list = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.state is not None

    @property
    def done(self) -> bool:
        return self.trace is not None and (self.state is None or self.state.done)

    def note(self, kind: str, text: str) -> None:
        self.notes.append((kind, text))

    def take_notes(self) -> list:
        out, self.notes = self.notes, []
        return out


_LOCKS: "OrderedDict[str, threading.Lock]" = OrderedDict()
_LOCKS_GUARD = threading.Lock()


def session_lock(sess: Session) -> threading.Lock:
    """One lock per session, so that two events of the same session never step the same state."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(sess.uid)
        if lock is None:
            lock = _LOCKS[sess.uid] = threading.Lock()
            while len(_LOCKS) > 20000:
                old, lk = next(iter(_LOCKS.items()))
                if lk.locked():
                    break
                _LOCKS.pop(old)
        else:
            _LOCKS.move_to_end(sess.uid)
        return lock


# --- parsing inputs ----------------------------------------------------------------------------------
def as_float(name: str, v):
    if v is None or isinstance(v, bool):
        raise ConfigError(name, v, "must be a number")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError(name, v, "must be a number") from None
    if not math.isfinite(f):
        raise ConfigError(name, v, "must be a finite number")
    return f


def build_config(policy, steps, block_length, temperature, seed, r=None, rho=_B.rho, gamma=_B.gamma,
                 lam=_B.lam, h_max=_B.h_max, tau_s=_B.tau_s, linearize_at=_B.linearize_at,
                 probe_scope=_B.probe_scope, use_aqa=_B.use_aqa, gate=_B.gate, tau_c=_B.tau_c, beta=_B.beta,
                 alpha=_B.alpha, quad_points=_B.quad_points) -> DecodeConfig:
    """A validated DecodeConfig from UI values (0 or empty block length / r mean "automatic")."""
    steps = as_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    bl = as_int("block_length", block_length, minimum=0, none_ok=True)
    rr = as_int("r", r, minimum=0, none_ok=True)
    boe = BoESettings(r=rr or None, rho=as_float("rho", rho), gamma=as_float("gamma", gamma), lam=as_float("lam", lam),
                    h_max=as_float("h_max", h_max), tau_s=as_float("tau_s", tau_s), linearize_at=linearize_at,
                    probe_scope=probe_scope, use_aqa=bool(use_aqa), gate=gate, tau_c=as_float("tau_c", tau_c),
                    beta=as_float("beta", beta), alpha=as_float("alpha", alpha),
                    quad_points=as_int("quad_points", quad_points, minimum=1))
    temp = temperature
    if temp is None or isinstance(temp, bool):
        raise ConfigError("temperature", temp, "must be a number >= 0")
    if isinstance(temp, str):
        try:
            temp = float(temp)
        except ValueError:
            raise ConfigError("temperature", temperature, "must be a number") from None
    if isinstance(temp, (int, np.integer, np.floating)):
        temp = float(temp)
    return DecodeConfig(policy=policy, steps=steps, block_length=bl or None, temperature=temp,
                        seed=as_int("seed", seed, minimum=0, maximum=2**63 - 1), settings=boe).validate()
