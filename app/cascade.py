"""The Cascade tab: for a finished run that the task's checker marks wrong, its first wrong commit
(the candidate root of the cascade) and where BoE's remask TIS ("what the rest hinges on") ranked
that token among the committed ones at each later step, beside the lowest-confidence-at-commit
ranking and chance (boe_core.cascade). One BoE backward per later step, in the background."""
from __future__ import annotations

import html

from boe_core import ConfigError
from boe_core.cascade import ranks_after

from . import jobs
from .charts import empty_figure, layout
from .common import ensure, model_for, trace_and_step
from .session import UserError

KIND = "cascade"
TITLE = "Rank of the first wrong commit among the committed tokens"
SERIES = (("remask TIS", "#7c3aed"), ("lowest commit confidence", "#f97316"))


def root_of(sess):
    """(trace, first wrong commit {"step", "position", "where", ...}) of the session's finished run."""
    from boe_core.tasks.views import get_view

    tr, _ = trace_and_step(sess, 0, "no run to examine")
    if not tr.finished:
        raise UserError("the run is not finished: run it to the end first")
    view = get_view(sess.task)
    if not view.can_check(tr):
        raise UserError("this task has no checker, so there is no wrong commit to trace back")
    fw = view.first_wrong(tr)
    if fw is None or fw.get("position") is None:
        raise UserError("the checker finds no wrong commit in this run: nothing cascades")
    if fw.get("root"):  # a checker that labels roots (bio): trace back its first root commit instead
        return tr, {**fw["root"], "reason": fw.get("reason", "")}
    return tr, fw


def cascade_json(fw, ranks: dict | None, job=None) -> dict:
    out = {**(job.info() if job is not None else {"job_id": None, "status": "done"}), "first_wrong": fw}
    for name, rr in (ranks or {}).items():
        out[name] = [{"step": r.step, "rank": r.rank, "n_committed": r.n_committed} for r in rr]
    return out


def cascade_figure(data: dict | None):
    import plotly.graph_objects as go

    if not data or not data.get("remask TIS"):
        note = "press Find the root" if not data else "no later step had masked positions left to probe"
        return empty_figure(TITLE, note)
    fig = go.Figure()
    rows = data["remask TIS"]
    steps = [r["step"] for r in rows]
    fig.add_trace(go.Scatter(x=steps, y=[(r["n_committed"] + 1) / 2 for r in rows], mode="lines", name="chance (mean rank)",
                             line=dict(color="#9ca3af", dash="dot"), hovertemplate="chance: mean rank %{y:.1f}<extra></extra>"))
    for name, colour in SERIES:
        pts = data.get(name) or []
        fig.add_trace(go.Scatter(x=[p["step"] for p in pts], y=[p["rank"] for p in pts], mode="lines+markers", name=name,
                                 line=dict(color=colour, width=2), marker=dict(size=7),
                                 customdata=[p["n_committed"] for p in pts],
                                 hovertemplate=f"{name}<br>step %{{x}}: rank %{{y}} of %{{customdata}}<extra></extra>"))
    fig.add_hline(y=3.5, line=dict(color="#10b981", width=1, dash="dash"), annotation_text="top 3",
                  annotation_position="bottom right")
    return layout(fig, TITLE, 340, xaxis=dict(title="step (state before it)", dtick=1),
                  yaxis=dict(title="rank (1 = first to take back)", autorange="reversed"),
                  legend=dict(orientation="h", y=-0.3))


def cascade_summary(data: dict | None, job=None) -> str:
    if job is not None and not job.finished.is_set():
        pct = 100.0 * job.done / job.total if job.total else 0.0
        return (f'<div class="boe-status"><span class="badge run">ranking the committed tokens</span>'
                f'<span class="badge">{job.done} / {job.total or "?"} steps</span></div>'
                f'<div class="progress"><div style="width:{pct:.0f}%"></div></div>')
    if not data:
        return ""
    fw = data["first_wrong"]
    bits = [f'<span class="badge bad">first wrong commit: step {fw["step"]} '
            f'({html.escape(str(fw.get("where", fw["position"])))})</span>']
    for name, _ in SERIES:
        pts = data.get(name) or []
        if pts:
            top3 = sum(p["rank"] <= 3 for p in pts)
            bits.append(f'<span class="badge">{html.escape(name)}: in the top 3 at {top3} of {len(pts)} later steps'
                        f' (best rank {min(p["rank"] for p in pts)})</span>')
    if data.get("status") == "cancelled":
        bits.append('<span class="badge warn">cancelled: partial</span>')
    return f'<div class="boe-status">{"".join(bits)}</div>'


def cascade(sess):
    """Rank the run's first wrong commit at every later step, yielding progress;
    (session, chart, summary, JSON with the job id)."""
    sess = ensure(sess)
    tr, fw = root_of(sess)
    adapter = model_for(tr, "The cascade view")
    first = {0: (int(fw["step"]), [int(fw["position"])])}

    def work(job):
        return ranks_after(adapter, tr, first, callback=job.progress, cancel=job.cancel)

    job = jobs.start(KIND, sess.uid, work)
    job.total = max(0, tr.num_steps - int(fw["step"]) - 1)
    for j in jobs.follow(job):
        if not j.finished.is_set():
            yield sess, cascade_figure(None), cascade_summary(None, j), cascade_json(fw, None, j)
    if job.error is not None:
        e = job.error
        raise e if isinstance(e, (ConfigError, UserError)) else UserError(f"the cascade view failed: {type(e).__name__}: {e}")
    data = cascade_json(fw, job.result, job)
    yield sess, cascade_figure(data), cascade_summary(data), data


def cascade_cancel(sess, job_id=""):
    sess = ensure(sess)
    return {"cancelled": [j.id for j in jobs.cancel(KIND, sess.uid, job_id or None)]}


# --- the tab (built and wired by app/ui.py) ------------------------------------------------------
def cascade_tab(u):
    """The Cascade tab's components, on the namespace `u`."""
    import gradio as gr

    with gr.Tab("Cascade", id="cascade"):
        gr.Markdown("For a finished run that ends wrong: its **first wrong commit**, and where BoE's "
                    "remask TIS (*what the rest hinges on*: the estimated entropy drop of the masked "
                    "positions if a committed token went back to [MASK]) ranked it among the committed "
                    "tokens at each later step, beside the lowest confidence at commit and chance. "
                    "One BoE backward per later step.")
        with gr.Row():
            u.cas_b = gr.Button("Find the root", variant="primary", elem_id="btn-cascade", scale=1)
            u.cas_stop = gr.Button("Cancel", elem_id="btn-cascade-cancel", scale=1)
        u.cas_status = gr.HTML("", label="cascade_summary", elem_id="cascade-status", js_on_load=None, min_height=0)
        u.cas_plot = gr.Plot(cascade_figure(None), label="cascade_plot", show_label=False, elem_id="cascade-plot")
        with gr.Accordion("Cascade data (JSON)", open=False):
            u.cas_info = gr.JSON(label="cascade", show_label=False)


def wire_cascade(u, guard):
    """Connect the Cascade tab's events (API names: cascade, cascade_cancel)."""
    import gradio as gr

    u.cas_cancelled = gr.JSON(visible=False)
    u.cas_b.click(guard(cascade), [u.sess], [u.sess, u.cas_plot, u.cas_status, u.cas_info], api_name="cascade",
                  **u.model_work)
    u.cas_stop.click(guard(cascade_cancel), [u.sess, u.job_id], u.cas_cancelled, api_name="cascade_cancel")
