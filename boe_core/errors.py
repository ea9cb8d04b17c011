"""Errors the user can act on. Every message names the offending field and value."""


class ConfigError(ValueError):
    """An invalid setting, refused before any compute."""

    def __init__(self, field: str, value, reason: str):
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")
