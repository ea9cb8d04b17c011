"""The explorer's tabs, one unit each: a file that builds the tab's components, wires its events,
names its background jobs and the session state it keeps. `app/ui.py` loops over `all_tabs()`.

How to add a tab: write `app/tabs/my_tab.py` with

    TAB = Tab("mine", "My tab", build, wire, jobs=("my_job",), state=("my_field",))

where `build(u, d)` creates the components on the namespace `u` (`d`: the first input values) and
`wire(u)` connects their events (every handler through `app.guard.guard`, a stable `api_name` for
what API clients may call, `**u.private` for glue). Jobs started with `app.jobs.start(kind, ...)`
are cancelled when a new run replaces the one they were computed for; the Session fields named in
`state` are forgotten then (add them to `Session.RUN_STATE`; a test checks both). Then add TAB to
the tuple below, in display order.
"""
from __future__ import annotations

from .base import Tab

__all__ = ["Tab", "all_tabs"]


def all_tabs() -> tuple[Tab, ...]:
    """The tabs in display order."""
    from . import about, cascade, compare, explore, fidelity, frontier, lockin

    return (explore.TAB, compare.TAB, lockin.TAB, cascade.TAB, fidelity.TAB, frontier.TAB, about.TAB)
