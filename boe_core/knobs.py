"""Knobs: a policy setting described once, on its settings dataclass field, diffusers-style.

    @dataclass
    class MySettings:
        tau: float = knob(0.9, "τ · threshold", "commit every token whose confidence clears τ",
                          range=(0.0, 1.0), step=0.01, group="threshold")

The explorer's knob inputs, the CLI flags (`--tau`), the bench spec parser (`mine:tau=0.8`) and the
API are all generated from these descriptions, so a new knob touches only its policy's file.
A plain dataclass field without `knob(...)` still works everywhere: it gets a label equal to its
name and a kind inferred from its default.

UI convention for optional numbers (`None` = automatic): the input shows 0, and `none_label`
says what 0 means ("0 = max(8, 4b)").
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

KINDS = ("int", "float", "bool", "choice")
_META = "boe_knob"


@dataclass(frozen=True)
class Knob:
    name: str
    default: Any
    label: str
    help: str = ""
    kind: str = "float"
    range: tuple | None = None  # (low, high), inclusive, for the UI (validate() has the last word)
    choices: tuple | None = None
    group: str = ""  # UI group the input sits in
    step: float | None = None
    optional: bool = False  # None is a valid value (shown as 0 in the UI)
    none_label: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """One line for help texts and API docs."""
        extra = [f"one of {', '.join(map(str, self.choices))}"] if self.choices else []
        if self.none_label:
            extra.append(self.none_label)
        return self.help + (f" ({'; '.join(extra)})" if extra else "")


def knob(default, label: str, help: str = "", *, kind: str | None = None, range: tuple | None = None,
         choices: tuple | None = None, group: str = "", step: float | None = None, none_label: str = ""):
    """A dataclass field carrying its knob description (see the module docstring)."""
    kind = kind or _infer_kind(default, choices)
    if kind not in KINDS:
        raise ValueError(f"knob {label!r}: kind={kind!r} must be one of {KINDS}")
    meta = dict(label=label, help=help, kind=kind, range=range, choices=tuple(choices) if choices else None,
                group=group, step=step, optional=default is None or bool(none_label), none_label=none_label)
    return dataclasses.field(default=default, metadata={_META: meta})


def _infer_kind(default, choices) -> str:
    if choices:
        return "choice"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, str):
        return "choice"
    return "float"


def knobs_of(settings_cls) -> tuple[Knob, ...]:
    """The knobs of a settings dataclass, in field order (inherited fields first)."""
    if settings_cls is None or not dataclasses.is_dataclass(settings_cls):
        return ()
    out = []
    for f in dataclasses.fields(settings_cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        meta = f.metadata.get(_META)
        if meta is None:
            meta = dict(label=f.name, kind=_infer_kind(default, None), optional=default is None)
        out.append(Knob(name=f.name, default=default, **meta))
    return tuple(out)


def parse_knob(k: Knob, value):
    """A UI / CLI / spec value as the knob's type. Strings are parsed; an optional knob maps
    None, "", "none" and 0 to None. Range and cross-field rules stay in the settings' validate()."""
    if k.optional and (value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))
                       or (k.kind in ("int", "float") and not isinstance(value, bool) and value == 0)):
        return None
    if k.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise ConfigError(k.name, value, "must be true or false")
    if k.kind == "choice":
        choices = k.choices or ()
        for c in choices:  # "3" selects the choice 3 of an int-valued list
            if value == c or (isinstance(value, str) and value.strip() == str(c)):
                return c
        if not choices and isinstance(value, str):
            return value
        raise ConfigError(k.name, value, f"must be one of {choices}")
    if value is None or isinstance(value, bool):
        raise ConfigError(k.name, value, "must be a number")
    try:
        f = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ConfigError(k.name, value, "must be a number") from None
    if not math.isfinite(f):
        raise ConfigError(k.name, value, "must be a finite number")
    if k.kind == "int":
        if f != int(f):
            raise ConfigError(k.name, value, "must be an integer")
        return int(f)
    return f


def settings_from_values(settings_cls, values: dict, *, strict: bool = True):
    """A validated settings instance from raw values (strings, UI numbers ...), keyed by knob name.
    Values for names the class does not have raise (strict) or are ignored."""
    by_name = {k.name: k for k in knobs_of(settings_cls)}
    unknown = set(values) - set(by_name)
    if strict and unknown:
        name = sorted(unknown)[0]
        raise ConfigError(name, values[name], f"unknown setting; known: {sorted(by_name)}")
    typed = {n: parse_knob(by_name[n], v) for n, v in values.items() if n in by_name}
    return settings_cls(**typed).validate()


def ui_value(k: Knob, value):
    """What an input shows for a settings value (0 for an optional number left automatic)."""
    if value is None and k.optional and k.kind in ("int", "float"):
        return 0
    return value
