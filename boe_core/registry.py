"""One registry class for every pluggable kind: policies, signals, root finders, task views and
tasks.

A registry maps a name to an object. Nothing is discovered: each package imports its built-in
modules explicitly (`boe_core/policies/__init__.py`, `boe_core/tasks/__init__.py`), and each module
registers what it defines at import time. Every import is a statement, so the import-graph test
sees all of them.

Nothing here imports the rest of `boe_core` but `errors`: this is the ground floor.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

from .errors import ConfigError

T = TypeVar("T")
_MISSING = object()


class UnknownName(ConfigError, KeyError):
    """A name no registered object has: a `ConfigError` naming the field (the registry's kind)
    and the value, and a `KeyError` for code that looks names up."""

    def __init__(self, kind: str, name, known: list[str]):
        self.known = known
        ConfigError.__init__(self, kind, name, f"unknown {kind}; known: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return ConfigError.__str__(self)


class Registry(Generic[T]):
    """name -> object, in display order.

    kind: what the objects are ("policy", "task view" ...), for error messages.
    key: how an object names itself (default: its `name` attribute).
    on_register / on_unregister: called with each object as it is registered / removed (e.g. to
        declare a policy's signals, and to drop those no other policy declares).
    Display order: by the object's `order` attribute (default 100), then registration order.
    """

    def __init__(self, kind: str, key: Callable[[T], str] | None = None,
                 on_register: Callable[[T], None] | None = None,
                 on_unregister: Callable[[T], None] | None = None):
        self.kind = kind
        self._key = key or (lambda obj: obj.name)
        self._on_register = on_register
        self._on_unregister = on_unregister
        self._items: dict[str, T] = {}

    # --- registering -------------------------------------------------------------------------
    def register(self, obj: T) -> T:
        """Add (or replace) `obj` under its name. Returns it, so it works as a class decorator."""
        name = self._key(obj)
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} needs a non-empty string name, got {name!r}")
        self._items[name] = obj
        if self._on_register is not None:
            self._on_register(obj)
        return obj

    def unregister(self, name: str, default=None):
        """Remove `name`; returns what was registered under it (or `default`)."""
        obj = self._items.pop(name, default)
        if obj is not default and self._on_unregister is not None:
            self._on_unregister(obj)
        return obj

    pop = unregister  # dict spelling

    @contextmanager
    def registered(self, obj: T) -> Iterator[T]:
        """Register `obj` for the duration of a `with` block (tests, plugins tried once); whatever
        held its name before comes back afterwards."""
        name = self._key(obj)
        before = self._items.get(name)
        self.register(obj)
        try:
            yield obj
        finally:
            self.unregister(name)
            if before is not None:
                self.register(before)

    # --- lookup ------------------------------------------------------------------------------
    def get(self, name, default=_MISSING) -> T:
        """The object named `name`; `UnknownName` (a ConfigError) if none, unless a default is given."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            if default is not _MISSING:
                return default
            raise UnknownName(self.kind, name, self.names()) from None

    def find(self, name, default=None):
        """The object named `name`, or `default`."""
        try:
            return self._items.get(name, default)
        except TypeError:  # an unhashable "name" from bad input
            return default

    def names(self) -> list[str]:
        pos = {n: i for i, n in enumerate(self._items)}
        return sorted(self._items, key=lambda n: (getattr(self._items[n], "order", 100), pos[n]))

    def values(self) -> list[T]:
        return [self._items[n] for n in self.names()]

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._items[n]) for n in self.names()]

    def __contains__(self, name) -> bool:
        try:
            return name in self._items
        except TypeError:
            return False

    def __getitem__(self, name) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return self.names()

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} registered)"
