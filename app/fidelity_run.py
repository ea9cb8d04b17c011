"""Whole-run fidelity (the Fidelity tab's second half): at every step of the run, BoE's TIS against
the exact one-step entropy drop of each candidate (boe_core.fidelity.measure_trace), drawn as
lines over the steps: Spearman, sign agreement and top-1 agreement. In the background, with
progress and a cancel."""
from __future__ import annotations

import html
import math

import numpy as np

from . import jobs
from .charts import empty_figure, layout
from .common import ensure, model_for, trace_and_step
from .session import ConfigError, UserError

KIND = "fidelity_run"
TITLE = "TIS vs exact drop over the run"
SERIES = (("spearman", "Spearman ρ", "#4f46e5"), ("sign", "sign agreement", "#f97316"),
          ("top1", "top-1 agreement", "#10b981"))


def _finite(x):
    return float(x) if x is not None and math.isfinite(float(x)) else None


def run_json(rows, job=None, n_steps: int | None = None) -> dict:
    """{steps, spearman, sign, top1, n_candidates} (None where a value is undefined), plus the job."""
    rows = sorted(rows or [], key=lambda r: r["step"])
    out = {**(job.info() if job is not None else {"job_id": None, "status": "done"}),
           "steps": [int(r["step"]) for r in rows], "n_steps": n_steps,
           "n_candidates": [int(r["n_candidates"]) for r in rows]}
    for key, _, _ in SERIES:
        out[key] = [_finite(r[key]) for r in rows]
    vals = [v for v in out["spearman"] if v is not None]
    out["mean_spearman"] = float(np.mean(vals)) if vals else None
    return out


def run_figure(data: dict | None):
    import plotly.graph_objects as go

    if not data or not data.get("steps"):
        note = "press Compute over the whole run" if not data else "no step had two candidates and a probe"
        return empty_figure(TITLE, note)
    fig = go.Figure()
    for key, label, colour in SERIES:
        y = [None if v is None else v for v in data[key]]
        fig.add_trace(go.Scatter(x=data["steps"], y=y, mode="lines+markers", name=label, connectgaps=False,
                                 line=dict(color=colour, width=2, shape="linear" if key == "spearman" else "hv"),
                                 marker=dict(size=5),
                                 hovertemplate=f"{label}<br>step %{{x}}<br>%{{y:.3f}}<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="#9ca3af", width=1, dash="dot"))
    return layout(fig, TITLE, 340, xaxis=dict(title="step"), yaxis=dict(title="agreement", range=[-1.05, 1.05]),
                  legend=dict(orientation="h", y=-0.25))


def run_summary(data: dict | None, job=None) -> str:
    if job is not None and not job.finished.is_set():
        pct = 100.0 * job.done / job.total if job.total else 0.0
        return (f'<div class="boe-status"><span class="badge run">measuring fidelity over the run</span>'
                f'<span class="badge">{job.done} / {job.total or "?"} steps</span></div>'
                f'<div class="progress"><div style="width:{pct:.0f}%"></div></div>')
    if not data:
        return ""
    bits = [f'<span class="badge strong">{len(data["steps"])} of {data.get("n_steps") or "?"} steps measured</span>']
    for key, label, _ in SERIES:
        v = [x for x in data[key] if x is not None]
        if v:
            bits.append(f'<span class="badge">mean {html.escape(label)} {np.mean(v):+.3f}</span>')
    if data.get("status") == "cancelled":
        bits.append('<span class="badge warn">cancelled: partial</span>')
    return f'<div class="boe-status">{"".join(bits)}</div>'


def fidelity_run(sess, every=1):
    """Measure TIS against the exact drop at every `every`-th step of the session's run, yielding
    progress; (session, line chart, summary, JSON with the job id)."""
    from boe_core.fidelity import measure_trace

    from .session import as_int

    sess = ensure(sess)
    every = as_int("every", every, minimum=1, maximum=1000)
    tr, _ = trace_and_step(sess, 0, "nothing to check")
    adapter = model_for(tr, "The fidelity check")
    n = tr.num_steps

    def work(job):
        return measure_trace(adapter, tr, every=every, rows=[0], callback=job.progress, cancel=job.cancel)

    job = jobs.start(KIND, sess.uid, work)
    job.total = len(range(0, n, every))
    for j in jobs.follow(job):
        if not j.finished.is_set():
            yield sess, run_figure(None), run_summary(None, j), run_json([], j, n)
    if job.error is not None:
        e = job.error
        raise e if isinstance(e, (ConfigError, UserError)) else UserError(f"the fidelity run failed: {type(e).__name__}: {e}")
    data = run_json(job.result, job, n)
    sess.fidelity_run = data
    yield sess, run_figure(data), run_summary(data), data


def fidelity_cancel(sess, job_id=""):
    """Stop a running whole-run fidelity: the job `job_id`, or this session's running one."""
    sess = ensure(sess)
    return {"cancelled": [j.id for j in jobs.cancel(KIND, sess.uid, job_id or None)]}
