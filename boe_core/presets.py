"""Presets: named starting points (a policy and settings overrides), declared by each policy
(`Policy.presets()`) and listed here in the policies' display order. The explorer's preset menus,
the stories and the scripts all read them from here."""
from __future__ import annotations

from dataclasses import asdict

from .errors import ConfigError
from .policies import POLICIES


def presets() -> dict[str, tuple[str, dict]]:
    """label -> (policy name, settings overrides), BoE's first."""
    out: dict[str, tuple[str, dict]] = {}
    for name, policy in POLICIES.items():
        for label, over in policy.presets().items():
            out.setdefault(label, (name, dict(over)))
    return out


def preset_settings(name: str) -> tuple[str, dict]:
    """(policy, every setting of that policy) for a preset label or a bare policy name: the
    policy's defaults with the preset's overrides applied, validated."""
    table = presets()
    if name in table:
        policy, over = table[name]
    elif name in POLICIES:
        policy, over = name, {}
    else:
        raise ConfigError("policy", name, f"unknown preset or policy; presets: {', '.join(table)}")
    settings = POLICIES.get(policy).settings_cls(**over).validate()
    return policy, asdict(settings)


DEFAULT_PRESET = "BoE default"
