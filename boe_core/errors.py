"""Errors the user can act on. Every message names the offending field and value."""


class ConfigError(ValueError):
    """An invalid setting, refused before any compute."""

    def __init__(self, field: str, value, reason: str):
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


def finite(x) -> bool:
    """A real finite number (bools excluded)."""
    import math

    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def run_command(args) -> int:
    """Run an argparse sub-command (`args.func(args)`); a ConfigError becomes one line on stderr and
    exit status 2, never a traceback."""
    import sys

    try:
        args.func(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
