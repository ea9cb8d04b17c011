"""Per-session state (kept in `gr.State`) and the parsing of user inputs into a decoding run.

Nothing here imports Gradio: the handlers in `app.handlers` call these functions and the tests call
them directly. Every user mistake raises `ConfigError` (naming the field and the value) or
`UserError`, before any model compute.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from boe_core import ConfigError, DecodeConfig
from boe_core.config import policy_settings
from boe_core.presets import DEFAULT_PRESET, preset_settings, presets  # noqa: F401  (DEFAULT_PRESET: re-exported for the setup panel)
from boe_core.tasks.fields import as_int


class UserError(ValueError):
    """A request the explorer cannot serve (no trace to branch, a bad upload ...)."""


# --- presets ---------------------------------------------------------------------------------------
# Each policy declares its presets (boe_core.presets); the explorer only lists them.
BRANCH_DEFAULT = "confidence"


class _Presets(Mapping):
    """The preset labels (label -> (policy, overrides)), read live from the policy registry so a
    policy registered after import (a plugin, a test) shows up too."""

    def __getitem__(self, name):
        return presets()[name]

    def __iter__(self):
        return iter(presets())

    def __len__(self):
        return len(presets())


PRESETS = _Presets()


def preset_overrides(name: str) -> tuple[str, dict]:
    """(policy, every setting of it) of a preset label; a bare policy name is accepted too."""
    return preset_settings(name)


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
    shown_step: int = -1  # the step whose canvas the Explore tab shows (-1: the initial canvas)
    branch: object = None
    diff: object = None
    compare_view: int | None = None
    fidelity: object = None
    heatmap: str = "grad_norm"  # the signal of the Explore tab's third heatmap
    lockin: object = None  # the run's lock-in map (boe_core.lockin.LockInMap)
    fidelity_run: object = None  # the run's whole-run fidelity rows
    answer: object = None  # (1, N) the answer's ids where the task view knows it (the order ceiling reads it)
    order_ceiling: dict | None = None  # a wrong finished run: did the oracle order solve it? (app.handlers)
    notes: list = field(default_factory=list)
    # what the tabs keep about the shown run (each tab names its own, app/tabs/): a new run forgets it
    RUN_STATE: ClassVar[tuple[str, ...]] = ("shown_step", "branch", "diff", "compare_view", "fidelity", "lockin",
                                            "fidelity_run", "answer", "order_ceiling")

    def forget_run_state(self) -> None:
        defaults = {f.name: f.default for f in fields(self)}
        for name in self.RUN_STATE:
            setattr(self, name, defaults[name])

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
def build_config(policy, steps, block_length, temperature, seed, settings=None) -> DecodeConfig:
    """A validated DecodeConfig from UI or API values. `settings` holds the chosen policy's own
    settings (a dict or a JSON object; left out: that policy's defaults), parsed by their
    declarations (0 means "automatic" for optional numbers). 0 or empty block length means one block."""
    settings = policy_settings(policy, settings)
    steps = as_int("steps", steps)  # parsed here; its range is DecodeConfig.validate's to check
    bl = as_int("block_length", block_length, minimum=0, none_ok=True)
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
                        seed=as_int("seed", seed), settings=settings).validate()
