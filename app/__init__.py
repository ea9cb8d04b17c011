"""BoE Explorer: a Gradio app over boe_core's step loop. What a task looks like (canvas layout,
examples, what "wrong" means) comes from its view in `boe_core.tasks.views`.

    app.inputs    the run inputs, declared once (components, handler signatures, API doc)
    app.overlays  the per-position signals shown: overlays, heatmaps, tooltips (one table)
    app.canvas    a step's canvas as HTML (chips or grid, as the task view says) and its legend
    app.status    the step data (JSON) and the status line
    app.charts    heatmaps and masked-entropy curves (Plotly)
    app.explore   the Explore tab's outputs; app.handlers: its actions (run, step, back ...)
    app.compare   the Compare tab (branch, compare_step); app.fidelity: the Fidelity tab
    app.files     trace export and import
    app.ui        the page: the setup column (app.setup_panel) beside the tabs, one unit each in
                  app.tabs (layout, wiring with stable API names, jobs, state); app.guard: user
                  mistakes become messages
    app.session   per-session state and input parsing (no Gradio); app.models: the adapter cache
    app.cli       `python app.py` flags
"""
from .cli import main

__all__ = ["main"]
