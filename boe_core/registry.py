"""One registry class for every pluggable kind: policies, signals, task views, bench tasks and
reasoning tasks.

A registry maps a name to an object. Built-ins are found by *discovery*: on first use, every module
of the packages a registry names is imported, and modules register what they define at import
time. So adding a built-in is one new file, with no import list to edit, and no module has to
import the registry's users (which is what used to close import circles).

Nothing here imports the rest of `boe_core` but `errors`: this is the ground floor.
"""
from __future__ import annotations

import importlib
import pkgutil
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
    packages: dotted names of packages (each of whose modules is imported) or modules, imported
        once, before the first lookup.
    key: how an object names itself (default: its `name` attribute).
    on_register / on_unregister: called with each object as it is registered / removed (e.g. to
        declare a policy's signals, and to drop those no other policy declares).
    Display order: by the object's `order` attribute (default 100), then registration order.
    """

    def __init__(self, kind: str, packages: tuple[str, ...] = (), key: Callable[[T], str] | None = None,
                 on_register: Callable[[T], None] | None = None,
                 on_unregister: Callable[[T], None] | None = None):
        self.kind = kind
        self.packages = tuple(packages)
        self._key = key or (lambda obj: obj.name)
        self._on_register = on_register
        self._on_unregister = on_unregister
        self._items: dict[str, T] = {}
        self._discovered = False

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
        self.discover()
        name = self._key(obj)
        before = self._items.get(name)
        self.register(obj)
        try:
            yield obj
        finally:
            self.unregister(name)
            if before is not None:
                self.register(before)

    # --- discovery ---------------------------------------------------------------------------
    def discover(self) -> None:
        """Import every module of `packages` once; they register their objects as they load.
        Re-entrant: a module that looks the registry up while discovery runs (e.g. a view module
        listing the tasks) triggers the import of every remaining module first, so it sees them all."""
        if self._discovered:
            return
        for pkg_name in self.packages:
            pkg = importlib.import_module(pkg_name)
            if not hasattr(pkg, "__path__"):  # a plain module: importing it was the point
                continue
            for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
                if not m.name.startswith("_"):
                    importlib.import_module(f"{pkg_name}.{m.name}")  # a no-op once imported
        self._discovered = True

    # --- lookup ------------------------------------------------------------------------------
    def get(self, name, default=_MISSING) -> T:
        """The object named `name`; `UnknownName` (a ConfigError) if none, unless a default is given."""
        self.discover()
        try:
            return self._items[name]
        except (KeyError, TypeError):
            if default is not _MISSING:
                return default
            raise UnknownName(self.kind, name, self.names()) from None

    def find(self, name, default=None):
        """The object named `name`, or `default`."""
        self.discover()
        try:
            return self._items.get(name, default)
        except TypeError:  # an unhashable "name" from bad input
            return default

    def names(self) -> list[str]:
        self.discover()
        pos = {n: i for i, n in enumerate(self._items)}
        return sorted(self._items, key=lambda n: (getattr(self._items[n], "order", 100), pos[n]))

    def values(self) -> list[T]:
        return [self._items[n] for n in self.names()]

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._items[n]) for n in self.names()]

    def __contains__(self, name) -> bool:
        self.discover()
        try:
            return name in self._items
        except TypeError:
            return False

    def __getitem__(self, name) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.discover()
        return len(self._items)

    def keys(self) -> list[str]:
        return self.names()

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} registered)"
