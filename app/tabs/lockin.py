"""The Lock-in tab: hand the rest of the decode over to another policy at every step."""
from __future__ import annotations

import gradio as gr

from boe_core.policies import POLICIES

from .. import lockin
from ..guard import guard
from .base import Tab

# A click on a column of the lock-in chart fills the step field and opens that hand-over.
LOCKIN_JS = r"""
element.addEventListener('click', (e) => {
  const col = e.target.closest('[data-step]');
  if (!col) return;
  const inp = document.querySelector('#lockin-step input');
  if (!inp) return;
  inp.value = col.dataset.step;
  inp.dispatchEvent(new Event('input', {bubbles: true}));
  inp.dispatchEvent(new Event('change', {bubbles: true}));
  setTimeout(() => { const b = document.querySelector('#btn-lockin-open'); if (b) b.click(); }, 150);
});
"""


def build(u, d):
    gr.Markdown("For the finished run: hand the rest of the decode to another policy at every step "
                "k, and see how it ends. At most one rollout per step; steps where the run "
                "committed confidence's own pick are inferred for free. Click a step to open that "
                "hand-over side by side in **Compare**.")
    with gr.Row():
        u.li_policy = gr.Dropdown(sorted(POLICIES), value="confidence", label="Hand over to", scale=2,
                                  elem_id="lockin-policy")
        u.li_b = gr.Button("Compute the lock-in map", variant="primary", elem_id="btn-lockin", scale=1)
        u.li_stop = gr.Button("Cancel", elem_id="btn-lockin-cancel", scale=1)
    u.li_status = gr.HTML("", label="lockin_summary", elem_id="lockin-status", js_on_load=None, min_height=0)
    u.li_chart = gr.HTML(lockin.lockin_html(None), label="lockin_chart", elem_id="lockin-chart", js_on_load=LOCKIN_JS)
    with gr.Row():
        u.li_step = gr.Number(0, precision=0, label="Hand-over step", elem_id="lockin-step", minimum=0, scale=1)
        u.li_open = gr.Button("Open in Compare", elem_id="btn-lockin-open", scale=1)
    with gr.Accordion("Lock-in data (JSON)", open=False):
        u.li_info = gr.JSON(label="lockin", show_label=False)


def wire(u):
    u.lockin_out = [u.sess, u.li_chart, u.li_status, u.li_info]
    u.li_cancelled = gr.JSON(visible=False)
    # after a run the map starts by itself (it is cheap where the run agrees with confidence)
    u.run_done.success(guard(lockin.auto_lockin), [u.sess, u.li_policy], u.lockin_out, **u.model_work, **u.private)
    u.li_b.click(guard(lockin.lockin), [u.sess, u.li_policy], u.lockin_out, api_name="lockin", **u.model_work)
    u.li_stop.click(guard(lockin.lockin_cancel), [u.sess, u.job_id], u.li_cancelled, api_name="lockin_cancel")
    u.li_open.click(lambda: gr.Tabs(selected="compare"), None, u.tabs, **u.private).then(
        guard(lockin.lockin_open), [u.sess, u.li_step], u.compare_out, api_name="lockin_open", show_progress="minimal",
        **u.model_work).success(lambda k: k, u.li_step, u.branch_at, **u.private)


TAB = Tab("lockin", "Lock-in", build, wire, jobs=(lockin.KIND,), state=("lockin",))
