"""BoE Explorer: a Gradio app over boe_core's step loop.

    app.render    pure functions: records -> HTML / Plotly figures (unit-tested without a server)
    app.session   per-session state and input parsing (no Gradio)
    app.handlers  event handlers (session + inputs -> outputs), streaming one step at a time
    app.ui        the layout and event wiring (API names: run, step, back, select, overlay, reset,
                  branch, compare_step, fidelity, export, import)
    app.models    the shared, lock-guarded adapter cache
    app.cli       `python app.py` flags
"""
from .cli import main

__all__ = ["main"]
