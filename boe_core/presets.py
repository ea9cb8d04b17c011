"""Presets: named starting points (a policy and settings overrides), declared by each policy
(`Policy.presets()`) and listed here in the policies' display order. The explorer's preset menus,
the stories and the scripts all read them from here.

A model folder may add its own, chosen on its val split, in `presets.json` (docs/presets.md):
``{label: {"policy": ..., "settings": {...}, "chosen_on": "...", "default": true?}}``. Every function
takes an optional `model` (an adapter from `load_model`, a folder or a shipped name); without it
they behave as before, policy presets only."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ConfigError
from .policies import POLICIES

PRESETS_FILE = "presets.json"
DEFAULT_PRESET = "BoE default"
ENTRY_FIELDS = ("policy", "settings", "chosen_on", "default")


@dataclass(frozen=True)
class ModelPreset:
    """One entry of a model's presets.json."""
    label: str
    policy: str
    settings: dict = field(default_factory=dict)  # overrides of the policy's defaults
    chosen_on: str = ""
    default: bool = False


def _model_folder(model) -> Path | None:
    """The folder a model's files live in: an adapter's `model_dir` (set by load_model), a folder,
    or a shipped model's name; None for an adapter built in memory or a hub id (no folder here,
    so no presets of its own)."""
    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        from .paths import models_dir

        p = Path(model)
        if not p.is_dir() and isinstance(model, str) and model and (models_dir() / model).is_dir():
            p = models_dir() / model
        return p if p.is_dir() else None
    d = getattr(model, "model_dir", None)
    return Path(d) if d else None


def read_presets_file(path) -> dict[str, ModelPreset]:
    """The entries of one presets.json, validated: each names a known policy, settings that policy
    accepts, and a non-empty chosen_on; at most one is the default. A bad file raises ConfigError
    naming the file and the field."""
    path = Path(path)
    where = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(where, f"line {e.lineno}", f"is not valid JSON: {e.msg}") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(where, type(raw).__name__, "must be a non-empty JSON object {label: entry}")
    out: dict[str, ModelPreset] = {}
    for label, e in raw.items():
        at = f"{where}: {label!r}"
        if not label.strip():
            raise ConfigError(f"{where}: label", label, "must be a non-empty string")
        if not isinstance(e, dict):
            raise ConfigError(at, type(e).__name__, "must be an object with policy, settings and chosen_on")
        unknown = set(e) - set(ENTRY_FIELDS)
        if unknown:
            raise ConfigError(f"{at}.{sorted(unknown)[0]}", e[sorted(unknown)[0]],
                              f"unknown field; known: {', '.join(ENTRY_FIELDS)}")
        policy = e.get("policy")
        if policy not in POLICIES:
            raise ConfigError(f"{at}.policy", policy, f"unknown policy; known: {', '.join(POLICIES)}")
        settings = e.get("settings", {})
        if not isinstance(settings, dict):
            raise ConfigError(f"{at}.settings", settings, "must be an object of setting overrides")
        try:
            POLICIES.get(policy).settings_cls(**settings).validate()
        except TypeError as err:  # a name the policy's settings lack
            raise ConfigError(f"{at}.settings", sorted(settings), f"not settings of {policy}: {err}") from None
        except ConfigError as err:
            raise ConfigError(f"{at}.settings.{err.field}", err.value, err.reason) from None
        chosen_on = e.get("chosen_on")
        if not isinstance(chosen_on, str) or not chosen_on.strip():
            raise ConfigError(f"{at}.chosen_on", chosen_on, "must say which split, metric and command chose it")
        default = e.get("default", False)
        if not isinstance(default, bool):
            raise ConfigError(f"{at}.default", default, "must be true or false")
        out[label] = ModelPreset(label, policy, dict(settings), chosen_on, default)
    defaults = [p.label for p in out.values() if p.default]
    if len(defaults) > 1:
        raise ConfigError(f"{where}: default", defaults, "at most one entry may be the default")
    if defaults and out[defaults[0]].policy != "boe":
        raise ConfigError(f"{where}: {defaults[0]!r}.default", True, "the model's default must be a BoE preset")
    return out


def model_preset_entries(model) -> dict[str, ModelPreset]:
    """The model's presets.json entries ({} when its folder has none, or it has no folder)."""
    folder = _model_folder(model)
    if folder is None or not (folder / PRESETS_FILE).is_file():
        return {}
    return read_presets_file(folder / PRESETS_FILE)


def model_presets(model) -> dict[str, tuple[str, dict]]:
    """label -> (policy name, settings overrides) of the model's own presets, file order."""
    return {k: (p.policy, dict(p.settings)) for k, p in model_preset_entries(model).items()}


def default_preset_for(model=None) -> str:
    """The label of the model's BoE default: its presets.json entry marked default, else the
    policies' "BoE default" (also without a model)."""
    for label, p in model_preset_entries(model).items():
        if p.default:
            return label
    return DEFAULT_PRESET


def presets(model=None) -> dict[str, tuple[str, dict]]:
    """label -> (policy name, settings overrides): the model's own presets first (a label of its
    file wins over a built-in one of the same name), then every policy's, BoE's first."""
    out: dict[str, tuple[str, dict]] = dict(model_presets(model)) if model is not None else {}
    for name, policy in POLICIES.items():
        for label, over in policy.presets().items():
            out.setdefault(label, (name, dict(over)))
    return out


def preset_settings(name: str, model=None) -> tuple[str, dict]:
    """(policy, every setting of that policy) for a preset label or a bare policy name: the
    policy's defaults with the preset's overrides applied, validated. With `model`, its own
    presets are looked up first."""
    table = presets(model)
    if name in table:
        policy, over = table[name]
    elif name in POLICIES:
        policy, over = name, {}
    else:
        raise ConfigError("policy", name, f"unknown preset or policy; presets: {', '.join(table)}")
    settings = POLICIES.get(policy).settings_cls(**over).validate()
    return policy, asdict(settings)
