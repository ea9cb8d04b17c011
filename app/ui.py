"""The explorer's page: the setup column beside the tabs (one unit each, app/tabs/), and the wiring
loop. Every event handler goes through `guard`; stable API names are listed in docs/explorer.md."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from . import handlers as H, models
from .guard import guard
from .inputs import ordered
from .setup_panel import build_setup, on_example, on_policy, on_preset, on_story, wire_setup
from .tabs import all_tabs

TITLE = "BoE Explorer"
HEADER = """<div id="boe-header"><h1>BoE Explorer</h1>
<p>Watch a masked diffusion model decode step by step, and steer it with <b>Backward-on-Entropy</b>:
reveal first the tokens whose commit most lowers the uncertainty of everything still masked.</p></div>"""

__all__ = ["build_demo", "guard", "on_example", "on_policy", "on_preset", "on_story"]


def _theme():
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="orange", neutral_hue="slate",
                          font=["Inter", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def build_demo(concurrency: int = 2) -> gr.Blocks:
    default = models.default_model()
    d = {**H.default_inputs(default), "model": default, "model_choices": models.model_choices()}
    c: dict = {}  # the run inputs, by name (the form's knobs by scoped name)
    u = SimpleNamespace(c=c)  # every component, by name, for the tabs' builders and wiring
    tabs = all_tabs()
    with gr.Blocks(title=TITLE) as demo:
        u.demo = demo
        u.sess = gr.State(None, time_to_live=4 * 3600)
        gr.HTML(HEADER, js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=340):
                (u.example, u.groups, u.grid, u.preset, u.export_fmt, u.export_btn, u.export_file, u.upload, u.story,
                 u.story_text) = build_setup(c, d)
            with gr.Column(scale=3):
                with gr.Tabs() as u.tabs:
                    for t in tabs:
                        if t.opens_tab:
                            t.build(u, d)
                        else:
                            with gr.Tab(t.label, id=t.id):
                                t.build(u, d)
        # shared by the tabs' wiring
        u.inputs = ordered(c)  # the API's run inputs: the fixed ones and the chosen policy's settings object
        u.job_id = gr.Textbox("", visible=False)  # API clients name a job; the Cancel buttons mean "this session's"
        u.model_work = dict(concurrency_id="model", concurrency_limit=concurrency)
        u.private = dict(api_visibility="private")
        for t in tabs:  # in display order: Explore defines the run events the others follow
            if t.wire is not None:
                t.wire(u)
        wire_setup(u, c)
    return demo
