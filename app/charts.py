"""Plotly charts of a trace: position x step heatmaps of a signal, and the masked-entropy curves."""
from __future__ import annotations

import numpy as np

from boe_core.tasks.token_text import is_bytelevel, token_text

from . import overlays as O
from .canvas import clamp_view
from .remask import remask_points

_AXIS = dict(gridcolor="#eef0f3", zeroline=False, linecolor="#d1d5db", showline=True, ticks="outside",
             tickcolor="#d1d5db", automargin=True)


def layout(fig, title, height=300, **extra):
    """One cheap layout update (the bare "none" template plus a light style: no template deepcopy)."""
    xaxis = {**_AXIS, **extra.pop("xaxis", {})}
    yaxis = {**_AXIS, **extra.pop("yaxis", {})}
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=height, template="none",
                      margin=dict(l=55, r=20, t=40, b=45), paper_bgcolor="white", plot_bgcolor="white",
                      font=dict(family="Inter, system-ui, sans-serif", size=12, color="#374151"),
                      xaxis=xaxis, yaxis=yaxis, **extra)
    return fig


def empty_figure(title: str, note: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=note, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(color="#6b7280", size=13))
    return layout(fig, title, 260, xaxis=dict(visible=False), yaxis=dict(visible=False))


def region(trace) -> tuple[int, int]:
    """[start, end) of the positions that were ever masked (the generation region)."""
    c = trace.initial_canvas[0]
    idx = np.flatnonzero(~trace.fixed[0] | (c == trace.mask_id))
    if idx.size == 0:
        return 0, c.shape[0]
    return int(idx[0]), int(idx[-1]) + 1


def heatmap_figure(trace, field: str, k: int | None = None):
    """Position x step heatmap of a per-position signal, with each step's commits marked and the
    selected step outlined."""
    import plotly.graph_objects as go

    sig = O.get(field)
    title = sig.label + " · position × step"
    if trace is None or not trace.records:
        return empty_figure(title, "no steps yet")
    s, e = region(trace)
    z = np.stack([O.values(r, field)[0, s:e] for r in trace.records]).astype(float)
    if not np.isfinite(z).any():
        return empty_figure(title, sig.missing)
    zz = np.where(np.isfinite(z), z, None)
    kw = dict(colorscale=sig.scale)
    if sig.symmetric:
        m = float(np.nanmax(np.abs(z))) or 1.0
        kw.update(zmin=-m, zmax=m, zmid=0)
    fig = go.Figure(go.Heatmap(z=zz.tolist(), x=np.arange(s, e), y=np.arange(trace.num_steps), hoverongaps=False,
                               colorbar=dict(thickness=10),
                               hovertemplate="position %{x}<br>step %{y}<br>value %{z:.4g}<extra></extra>", **kw))
    cx, cy, ct = [], [], []
    bl = is_bytelevel(trace.id_to_token)
    for r in trace.records:
        for p in np.flatnonzero(r.chosen[0]):
            cx.append(int(p))
            cy.append(r.step)
            ct.append(token_text(trace.id_to_token.get(int(r.canvas_after[0, p]), "?"), bl))
    fig.add_trace(go.Scatter(x=cx, y=cy, mode="markers", text=ct, name="commit",
                             marker=dict(symbol="circle-open", size=7, color="#111827", line=dict(width=1.5)),
                             hovertemplate="commit %{text!r} at position %{x}, step %{y}<extra></extra>",
                             showlegend=False))
    rx, ry = remask_points(trace)
    if rx:  # a revising policy took these back
        fig.add_trace(go.Scatter(x=rx, y=ry, mode="markers", name="remask",
                                 marker=dict(symbol="x-thin", size=9, color="#7c3aed", line=dict(width=2.5)),
                                 hovertemplate="remask at position %{x}, step %{y}<extra></extra>",
                                 showlegend=False))
    k = clamp_view(trace, k)
    if k >= 0:
        fig.add_shape(type="rect", x0=s - 0.5, x1=e - 0.5, y0=k - 0.5, y1=k + 0.5,
                      line=dict(color="#e11d48", width=2), fillcolor="rgba(0,0,0,0)")
    return layout(fig, title, 320, yaxis=dict(title="step", autorange="reversed", showgrid=False),
                  xaxis=dict(title="position", showgrid=False))


def entropy_figure(traces, k: int | None = None, marks=()):
    """Total masked entropy before each step; one line per (label, trace). `marks`: (step, label)
    vertical markers (e.g. the branch step, the first divergence, first wrong commits)."""
    import plotly.graph_objects as go

    title = "Total masked entropy per step"
    traces = [(lbl, t) for lbl, t in traces if t is not None and t.records]
    if not traces:
        return empty_figure(title, "no steps yet")
    fig = go.Figure()
    colours = ["#4f46e5", "#f97316", "#10b981"]
    for j, (lbl, t) in enumerate(traces):
        y = t.masked_entropy_curve()[:, 0]
        fig.add_trace(go.Scatter(x=np.arange(len(y)), y=y, mode="lines+markers", name=lbl,
                                 line=dict(color=colours[j % 3], width=2), marker=dict(size=4),
                                 hovertemplate=f"{lbl}<br>step %{{x}}<br>%{{y:.3f}} nats<extra></extra>"))
        back = [r.step for r in t.records if r.remasked[0].any()]  # steps that took commits back
        if back:
            fig.add_trace(go.Scatter(x=back, y=y[back], mode="markers", name=f"{lbl}: remask",
                                     marker=dict(symbol="x-thin", size=10, color="#7c3aed", line=dict(width=2.5)),
                                     hovertemplate="remask at step %{x}<extra></extra>", showlegend=False))
    k0 = clamp_view(traces[0][1], k)
    if k0 >= 0:
        fig.add_vline(x=k0, line=dict(color="#e11d48", width=1.5, dash="dot"))
    grouped: dict = {}
    for step, lbl in marks:  # one labelled line per step, so labels never overprint
        if step is not None:
            grouped.setdefault(int(step), []).append(lbl)
    for step, lbls in grouped.items():
        fig.add_vline(x=step, line=dict(color="#6b7280", width=1, dash="dash"),
                      annotation_text=" · ".join(lbls), annotation_position="top right",
                      annotation_font=dict(size=11, color="#4b5563"))
    return layout(fig, title, 300, xaxis=dict(title="step"), yaxis=dict(title="nats", rangemode="tozero"),
                  legend=dict(orientation="h", y=-0.3), showlegend=len(traces) > 1)
