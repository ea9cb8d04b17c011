"""Parsing the values a task view reads from a UI or API request (a prompt, a whole number).

Every mistake raises `ConfigError` naming the field and the value, before any model compute.
"""
from __future__ import annotations

import math
import unicodedata

import numpy as np

from ..canvas import MAX_PROMPT_CHARS
from ..errors import ConfigError

_CONTROL_OK = {"\n", "\t", "\r"}


def as_int(name: str, v, *, minimum: int | None = None, maximum: int | None = None, none_ok: bool = False):
    """An integer from a UI/API value (int, integral float or numeric string)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        if none_ok:
            return None
        raise ConfigError(name, v, "is required (a whole number)")
    if isinstance(v, bool):
        raise ConfigError(name, v, "must be a whole number")
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            raise ConfigError(name, v, "must be a whole number") from None
    if isinstance(v, float):
        if not math.isfinite(v) or v != int(v):
            raise ConfigError(name, v, "must be a whole number")
        v = int(v)
    if not isinstance(v, (int, np.integer)):
        raise ConfigError(name, v, "must be a whole number")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ConfigError(name, v, f"must be >= {minimum}")
    if maximum is not None and v > maximum:
        raise ConfigError(name, v, f"is too large (max {maximum})")
    return v


def check_prompt(prompt) -> str:
    """A prompt the model can be given: non-empty text, not too long, no control characters."""
    if not isinstance(prompt, str):
        raise ConfigError("prompt", prompt, "must be text")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ConfigError("prompt", f"<{len(prompt)} characters>", f"is longer than {MAX_PROMPT_CHARS} characters")
    if not prompt.strip():
        raise ConfigError("prompt", prompt, "is empty: type a few words for the model to continue")
    bad = sorted({c for c in prompt if unicodedata.category(c) in ("Cc", "Cs") and c not in _CONTROL_OK})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:5])
        raise ConfigError("prompt", prompt[:40], f"contains control characters ({shown}); remove them")
    return prompt
