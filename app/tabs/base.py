"""What a tab declares (see app/tabs/__init__.py for how to add one)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Tab:
    id: str  # the gr.Tab id (u.tabs selects it)
    label: str
    build: Callable  # (u, d) -> None: the components, inside `with gr.Tab(label, id=id)`
    wire: Callable | None = None  # (u) -> None: the events, after every tab is built
    jobs: tuple[str, ...] = ()  # background job kinds it starts (app.jobs)
    state: tuple[str, ...] = ()  # Session fields it keeps for the shown run
    opens_tab: bool = False  # build() opens its own `gr.Tab(label, id=id)` (else the loop does)
