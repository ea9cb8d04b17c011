"""The Fidelity tab: TIS vs the exact one-step entropy drop of each BoE candidate at a step."""
from __future__ import annotations

import math

import numpy as np

from boe_core.tasks.token_text import is_bytelevel, token_text

from .charts import empty_figure, layout
from .common import ensure, model_for, trace_and_step
from .session import session_lock


def fidelity_figure(fid, trace=None):
    """TIS vs the exact one-step entropy drop of each candidate, with Spearman's rho in the title."""
    import plotly.graph_objects as go

    if fid is None:
        return empty_figure("TIS vs exact entropy drop", "pick a step and press Compute")
    if not fid.positions or not fid.tis:
        return empty_figure(f"TIS vs exact entropy drop · step {fid.step}", "no candidates or probes at this step")
    labels = [f"position {p}" for p in fid.positions]
    rho = fid.spearman
    fig = go.Figure(go.Scatter(x=fid.delta, y=fid.tis, mode="markers+text", text=[str(p) for p in fid.positions],
                               textposition="top center", customdata=labels,
                               marker=dict(size=10, color="#4f46e5", line=dict(color="white", width=1)),
                               hovertemplate="%{customdata}<br>exact Δ %{x:.4g}<br>TIS %{y:.4g}<extra></extra>"))
    if len(fid.delta) >= 2 and np.ptp(fid.delta) > 0:
        a, b = np.polyfit(fid.delta, fid.tis, 1)
        xs = np.linspace(min(fid.delta), max(fid.delta), 2)
        fig.add_trace(go.Scatter(x=xs, y=a * xs + b, mode="lines", line=dict(color="#9ca3af", dash="dash"),
                                 hoverinfo="skip", showlegend=False))
    rho_s = "n/a" if rho is None or not math.isfinite(rho) else f"{rho:+.3f}"
    return layout(fig, f"Step {fid.step}: Spearman ρ = {rho_s} over {len(fid.positions)} candidates "
                       f"({fid.n_probes} probes)", 380, showlegend=False,
                  xaxis=dict(title="exact one-step entropy drop Δ (nats)"), yaxis=dict(title="TIS (first-order estimate)"))


def fidelity_table(fid, trace=None) -> list[list]:
    """[position, proposal, TIS, exact Δ] rows, by TIS."""
    if fid is None:
        return []
    rows = []
    bl = trace is not None and is_bytelevel(trace.id_to_token)
    for p, t, d in sorted(zip(fid.positions, fid.tis, fid.delta), key=lambda x: -x[1]):
        tok = ""
        if trace is not None:
            pr = int(trace.records[fid.step].proposals[0, p])
            tok = token_text(trace.id_to_token.get(pr, f"<{pr}>"), bl) if pr >= 0 else ""
        rows.append([int(p), tok, round(float(t), 6), round(float(d), 6)])
    return rows


def _summary_html(fid) -> str:
    rho = fid.spearman
    if not fid.tis:
        return ('<div class="boe-status"><span class="badge warn">no candidates or probes at this step</span> the last '
                'steps of a run have too few masks left: pick an earlier step, or compute over the whole run '
                'below.</div>')
    good = np.isfinite(rho) and rho > 0.5
    verdict = ("TIS ranks the candidates like the exact entropy drop" if good else
               "TIS and the exact drop disagree on the ranking here" if np.isfinite(rho) else
               "too few distinct values for a rank correlation")
    return (f'<div class="boe-status"><span class="badge strong">step {fid.step}</span>'
            f'<span class="badge">{len(fid.positions)} candidates · {fid.n_probes} probes</span>'
            f'<span class="badge {"ok" if good else "warn"}">Spearman ρ = '
            f'{"n/a" if not np.isfinite(rho) else f"{rho:+.3f}"}</span> {verdict}.</div>')


def fidelity(sess, at_step=None):
    """TIS vs the exact one-step entropy drop of each BoE candidate at a step (|C| extra forwards)."""
    from boe_core import tis_fidelity

    sess = ensure(sess)
    tr, k = trace_and_step(sess, at_step, "nothing to check")
    adapter = model_for(tr, "The fidelity check")
    with session_lock(sess):
        fid = tis_fidelity(adapter, tr, k)
    sess.fidelity = fid
    rho = fid.spearman
    summary = {"step": fid.step, "positions": list(map(int, fid.positions)), "tis": list(map(float, fid.tis)),
               "delta": list(map(float, fid.delta)), "spearman": None if not np.isfinite(rho) else float(rho),
               "n_probes": int(fid.n_probes)}
    return sess, fidelity_figure(fid, tr), fidelity_table(fid, tr), _summary_html(fid), summary
