"""The Cascade tab: which commit a run's errors hang on (layout, handlers and wiring in app.cascade)."""
from __future__ import annotations

from .. import cascade
from ..guard import guard
from .base import Tab


def build(u, d):
    cascade.cascade_tab(u, d)  # opens its own gr.Tab("Cascade", id="cascade")


def wire(u):
    cascade.wire_cascade(u, guard)


TAB = Tab("cascade", "Cascade", build, wire, jobs=(cascade.KIND,), opens_tab=True)
