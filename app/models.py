"""The shared, read-only model registry of the explorer.

Adapters are loaded once per process and cached in a module-level dict guarded by a lock; every
session reads the same adapter (weights are frozen, decoding never writes to them). Which models
may be loaded is fixed at start-up: the shipped ones plus those named on the command line.
"""
from __future__ import annotations

import threading

from boe_core import ConfigError, load_model, shipped_models

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}
SETTINGS = {"device": "cpu", "dtype": None, "allow_remote_code": False, "extra": []}
DEFAULT_ORDER = ("sudoku", "kjv")  # the default model: Sudoku if shipped (lock-in is checkable), else KJV


def configure(device="cpu", dtype=None, allow_remote_code=False, extra=()) -> None:
    """Set how models are loaded (before any load) and which extra names/paths are offered."""
    with _LOCK:
        SETTINGS.update(device=device, dtype=dtype, allow_remote_code=bool(allow_remote_code),
                        extra=[m for m in dict.fromkeys(extra) if m])
        _CACHE.clear()


def model_choices() -> list[str]:
    return list(dict.fromkeys([*SETTINGS["extra"], *shipped_models()]))


def default_model() -> str | None:
    if SETTINGS["extra"]:
        return SETTINGS["extra"][0]
    shipped = shipped_models()
    for name in DEFAULT_ORDER:
        if name in shipped:
            return name
    return shipped[0] if shipped else None


def check_name(name) -> str:
    choices = model_choices()
    if not isinstance(name, str) or name not in choices:
        raise ConfigError("model", name, f"unknown model; available: {', '.join(choices) or 'none (no model shipped)'}")
    return name


def get_adapter(name):
    """The cached adapter for `name` (loading it on first use). Raises ConfigError for an unknown
    name; only listed models can be loaded, so a client cannot make the server fetch anything."""
    check_name(name)
    with _LOCK:
        adapter = _CACHE.get(name)
        if adapter is None:
            adapter = load_model(name, device=SETTINGS["device"], dtype=SETTINGS["dtype"],
                                 allow_remote_code=SETTINGS["allow_remote_code"])
            _CACHE[name] = adapter
        return adapter


def is_loaded(name) -> bool:
    return name in _CACHE


def task_of(name) -> str:
    """The model's task (it names its task view), without loading the weights when the model is a
    shipped TinyMDM; "text" when it says none."""
    import json
    from boe_core.paths import models_dir

    if name in _CACHE:
        return getattr(_CACHE[name], "task", "text")
    cfg = models_dir() / name / "config.json"
    if name in shipped_models() and cfg.is_file():
        try:
            return json.loads(cfg.read_text()).get("task", "text")
        except (OSError, ValueError):
            return "text"
    return getattr(get_adapter(name), "task", "text")
