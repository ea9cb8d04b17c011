"""The Compare tab: branch a run at a step under another preset, or intervene on one cell, and show
both trajectories."""
from __future__ import annotations

import gradio as gr

from .. import compare, intervene
from ..canvas import empty
from ..guard import guard
from ..session import BRANCH_DEFAULT, PRESETS
from .base import Tab


def build(u, d):
    gr.Markdown("From a step (after Run: the first one where the run departs from confidence's "
                "own pick), decode the rest with another policy and compare the two trajectories.")
    with gr.Row():
        u.branch_preset = gr.Dropdown(list(PRESETS), value=BRANCH_DEFAULT, label="Branch policy", scale=2)
        u.branch_at = gr.Number(0, precision=0, label="Branch at step", elem_id="branch-at", scale=1, minimum=0)
        u.branch_b = gr.Button("Branch at this step", variant="primary", elem_id="btn-branch", scale=1)
    u.branch_hint = gr.Markdown("", elem_id="branch-hint", elem_classes="hint-text")
    intervene.intervene_panel(u)  # a click on a committed Explore cell fills it
    u.cmp_summary = gr.HTML(compare.compare_summary_html(None, None, None), label="summary", js_on_load=None)
    with gr.Row():
        u.cmp_a = gr.HTML(empty("Run A"), label="canvas_a", elem_classes="compare-pane", js_on_load=None,
                          elem_id="cmp-a")
        u.cmp_b = gr.HTML(empty("Run B"), label="canvas_b", elem_classes="compare-pane", js_on_load=None,
                          elem_id="cmp-b")
    u.cmp_slider = gr.Slider(0, 1, value=0, step=1, label="Show both runs at step", elem_id="cmp-slider",
                             interactive=False)
    u.cmp_curve = gr.Plot(label="masked_entropy_ab", show_label=False)
    with gr.Accordion("Comparison data (JSON)", open=False):
        u.cmp_info = gr.JSON(label="comparison", show_label=False)


def wire(u):
    u.compare_out = [u.sess, u.cmp_a, u.cmp_b, u.cmp_summary, u.cmp_curve, u.cmp_slider, u.cmp_info]
    u.branch_b.click(guard(compare.branch), [u.sess, u.branch_preset, u.branch_at], u.compare_out, api_name="branch",
                     show_progress="minimal", **u.model_work)
    u.cmp_slider.release(guard(compare.compare_select), [u.sess, u.cmp_slider], [u.cmp_a, u.cmp_b],
                         api_name="compare_step", show_progress="hidden")
    # after a run (or a loaded trace): Compare points at the first departure from confidence
    u.after_run = dict(fn=guard(compare.default_step_hint), inputs=[u.sess], outputs=[u.branch_at, u.branch_hint],
                       **u.private)
    u.run_done = u.run_evt.success(**u.after_run)
    intervene.wire_intervene(u, guard)  # API: intervene


TAB = Tab("compare", "Compare", build, wire, state=("branch", "diff", "compare_view"))
