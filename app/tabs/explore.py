"""The Explore tab: run, step, scrub and play a decode; the canvas, status, curves and heatmaps.
Its Run / Step / Reset read the form (every policy's own knobs); the HTTP API's /run, /step and
/reset take the chosen policy's settings as one object."""
from __future__ import annotations

import gradio as gr

from .. import handlers as H, overlays
from ..canvas import empty
from ..explore import FIXED_HEATMAPS, PICKED_DEFAULT
from ..guard import guard
from ..inputs import scoped_knobs, scoped_name
from ..status import starting_html
from .base import Tab

HEATMAP_API_LABELS = ("entropy_heatmap", "tis_heatmap", "grad_heatmap")  # the third: the picked signal


def build(u, d):
    with gr.Row(elem_classes="boe-controls"):
        u.run_b = gr.Button("▶▶ Run", variant="primary", elem_id="btn-run")
        u.step_b = gr.Button("Step ▶|", elem_id="btn-step")
        u.back_b = gr.Button("|◀ Back", elem_id="btn-back")
        u.play_b = gr.Button("▶ Play", elem_id="btn-play")
        u.pause_b = gr.Button("❚❚ Pause", elem_id="btn-pause")
        u.reset_b = gr.Button("⟲ Reset", variant="stop", elem_id="btn-reset")
    with gr.Row():
        u.slider = gr.Slider(0, 1, value=0, step=1, label="Step", interactive=False, elem_id="step-slider", scale=3)
        u.overlay = gr.Radio(overlays.overlay_choices(), value="none", label="Overlay", elem_id="overlay", scale=2)
    u.status = gr.HTML(starting_html(d["model"]), label="status", elem_id="status", js_on_load=None, min_height=0)
    u.messages = gr.HTML("", label="messages", elem_id="messages", js_on_load=None, min_height=0)
    u.canvas = gr.HTML(empty("Loading…"), label="canvas", elem_id="canvas", js_on_load=None)
    u.curve = gr.Plot(label="masked_entropy", show_label=False, elem_id="curve")
    u.heatmaps = []
    with gr.Tabs():
        for f, api in zip(FIXED_HEATMAPS, HEATMAP_API_LABELS):
            with gr.Tab(f"{overlays.get(f).label} heatmap"):
                u.heatmaps.append(gr.Plot(label=api, show_label=False))
        with gr.Tab("Any signal"):
            u.hm_signal = gr.Dropdown([(overlays.get(n).label, n) for n in overlays.heatmap_signals()],
                                      value=PICKED_DEFAULT, label="Signal", elem_id="heatmap-signal",
                                      info="every signal the sampler or a policy declares")
            u.heatmaps.append(gr.Plot(label=HEATMAP_API_LABELS[-1], show_label=False))
    with gr.Accordion("Step data (JSON)", open=False):
        u.info = gr.JSON(label="step_data", show_label=False)
    u.timer = gr.Timer(0.6, active=False)


def wire(u):
    c = u.c
    scoped = scoped_knobs()  # the form: the fixed inputs and every policy's own knobs
    u.form = [*u.inputs[:-1], *[c[scoped_name(owner, k.name)] for owner, k in scoped]]
    F = H.form_handlers(scoped)
    u.explore_out = [u.sess, u.canvas, u.status, u.slider, u.curve, *u.heatmaps, u.info, u.messages]

    u.run_evt = u.run_b.click(guard(F["run"]), [u.sess, *u.form, u.overlay], u.explore_out, show_progress="minimal",
                              **u.model_work, **u.private)
    u.step_evt = u.step_b.click(guard(F["step"]), [u.sess, *u.form, u.overlay], u.explore_out, show_progress="minimal",
                                **u.model_work, **u.private)
    # the HTTP API's /run, /step and /reset: the same handlers, settings as one object per policy
    u.api_b = gr.Button(visible=False)
    u.api_b.click(guard(H.run), [u.sess, *u.inputs, u.overlay], u.explore_out, api_name="run", **u.model_work)
    u.api_b.click(guard(H.step), [u.sess, *u.inputs, u.overlay], u.explore_out, api_name="step", **u.model_work)
    u.api_b.click(guard(H.reset), [u.sess, *u.inputs, u.overlay], [*u.explore_out, u.timer], api_name="reset",
                  **u.model_work)
    u.back_b.click(guard(H.back), [u.sess, u.overlay], u.explore_out, api_name="back", show_progress="hidden")
    u.slider.release(guard(H.select), [u.sess, u.slider, u.overlay], u.explore_out, api_name="select",
                     show_progress="hidden")
    u.overlay.input(guard(H.set_overlay), [u.sess, u.overlay], u.canvas, api_name="overlay", show_progress="hidden")
    u.play_b.click(lambda: gr.Timer(active=True), None, u.timer, **u.private)
    u.pause_b.click(lambda: gr.Timer(active=False), None, u.timer, cancels=[u.run_evt], **u.private)
    u.timer.tick(guard(F["play_tick"]), [u.sess, *u.form, u.overlay], [*u.explore_out, u.timer], show_progress="hidden",
                 **u.model_work, **u.private)
    u.reset_evt = u.reset_b.click(guard(F["reset"]), [u.sess, *u.form, u.overlay], [*u.explore_out, u.timer],
                                  cancels=[u.run_evt], **u.model_work, **u.private)
    u.hm_signal.input(guard(H.set_heatmap), [u.sess, u.hm_signal], [u.sess, u.heatmaps[-1]], api_name="heatmap",
                      show_progress="hidden")
    # Reset with the form's values, after a model, story or example change and on load
    u.reset_again = dict(fn=guard(F["reset"]), inputs=[u.sess, *u.form, u.overlay], outputs=[*u.explore_out, u.timer],
                         **u.model_work, **u.private)
    # the overlay and heatmap menus list what the shown run recorded (plus what every run has)
    u.menus = dict(fn=guard(H.signal_menus), inputs=[u.sess, u.overlay, u.hm_signal], outputs=[u.overlay, u.hm_signal],
                   show_progress="hidden", **u.private)
    for evt in (u.run_evt, u.step_evt, u.reset_evt):
        evt.then(**u.menus)


TAB = Tab("explore", "Explore", build, wire, state=("shown_step",))
