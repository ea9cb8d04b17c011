"""The Fidelity tab: TIS against the exact entropy drop, for one step and over the whole run."""
from __future__ import annotations

import gradio as gr

from .. import fidelity, fidelity_run
from ..guard import guard
from .base import Tab


def build(u, d):
    gr.Markdown("Does the one-backward estimate (TIS) rank candidates like the real thing? "
                "For the step selected in **Explore**, this computes the *exact* one-step "
                "entropy drop of every BoE candidate (one forward each) and plots it "
                "against TIS.")
    u.fid_b = gr.Button("Compute for the selected step", variant="primary", elem_id="btn-fidelity")
    u.fid_status = gr.HTML("", label="fidelity_summary", js_on_load=None)
    u.fid_plot = gr.Plot(label="fidelity_plot", show_label=False)
    u.fid_table = gr.Dataframe(headers=["position", "proposal", "TIS", "exact Δ"],
                               datatype=["number", "str", "number", "number"], type="array",
                               interactive=False, label="Candidates (by TIS)")
    with gr.Accordion("Fidelity data (JSON)", open=False):
        u.fid_info = gr.JSON(label="fidelity", show_label=False)
    gr.Markdown("**Over the whole run**: the same check at every step (one backward and |C| "
                "forwards each), as Spearman ρ, sign agreement and top-1 agreement per step.")
    with gr.Row():
        u.fr_b = gr.Button("Compute over the whole run", variant="primary", elem_id="btn-fid-run")
        u.fr_stop = gr.Button("Cancel", elem_id="btn-fid-run-cancel")
    u.fr_status = gr.HTML("", label="fidelity_run_summary", elem_id="fid-run-status", js_on_load=None, min_height=0)
    u.fr_plot_run = gr.Plot(fidelity_run.run_figure(None), label="fidelity_run_plot", show_label=False,
                            elem_id="fid-run-plot")
    with gr.Accordion("Whole-run fidelity data (JSON)", open=False):
        u.fr_info = gr.JSON(label="fidelity_run", show_label=False)


def wire(u):
    u.fr_cancelled = gr.JSON(visible=False)
    u.fid_b.click(guard(fidelity.fidelity), [u.sess, u.slider], [u.sess, u.fid_plot, u.fid_table, u.fid_status, u.fid_info],
                  api_name="fidelity", **u.model_work)
    u.fr_b.click(guard(fidelity_run.fidelity_run), [u.sess], [u.sess, u.fr_plot_run, u.fr_status, u.fr_info],
                 api_name="fidelity_run", **u.model_work)
    u.fr_stop.click(guard(fidelity_run.fidelity_cancel), [u.sess, u.job_id], u.fr_cancelled, api_name="fidelity_cancel")


TAB = Tab("fidelity", "Fidelity", build, wire, jobs=(fidelity_run.KIND,), state=("fidelity", "fidelity_run"))
