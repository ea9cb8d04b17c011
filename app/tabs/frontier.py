"""The Frontier tab: quality against compute of the sweeps in the results folder."""
from __future__ import annotations

import gradio as gr

from .. import frontier
from ..guard import guard
from .base import Tab


def build(u, d):
    gr.Markdown("Quality vs compute of the sweeps in the results folder, one folder per task, the newest "
                "frontier first (`python -m boe_core.bench frontier`, or `pareto`): "
                "one line per policy over its budget knob (steps, or τ / γ for the adaptive samplers); "
                "the black steps are the upper-left envelope, labelled by owner. Compute counts a "
                "backward by its measured cost in forwards.")
    sweeps = frontier.sweep_files()
    u.fr_file = gr.Dropdown(sweeps, value=sweeps[0] if sweeps else None, label="Sweep", elem_id="frontier-file")
    fig, msg = frontier.frontier_plot(sweeps[0] if sweeps else None)
    u.fr_note = gr.Markdown(msg)
    u.fr_plot = gr.Plot(fig, label="frontier", show_label=False)


def wire(u):
    u.fr_file.change(guard(frontier.frontier_plot), [u.fr_file], [u.fr_plot, u.fr_note], api_name="frontier",
                     show_progress="minimal")


TAB = Tab("frontier", "Frontier", build, wire)
