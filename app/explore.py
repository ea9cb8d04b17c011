"""The Explore tab's outputs for a session: canvas with legend, status, slider, charts, step data."""
from __future__ import annotations

from boe_core.tasks.views import get_view

from . import charts, overlays
from .canvas import canvas_html, clamp_view, legend_html
from .common import notify
from .session import Session
from .status import message_html, status_html, step_summary


# The Explore tab's heatmaps: two fixed ones, then a slot for any declared signal (the picker;
# "grad_norm" until one is picked). Three slots keep the API's output positions stable.
FIXED_HEATMAPS = ("entropy", "tis")
PICKED_DEFAULT = "grad_norm"


def heatmap_slots(sess: Session) -> tuple[str, ...]:
    picked = getattr(sess, "heatmap", None) or PICKED_DEFAULT
    return (*FIXED_HEATMAPS, picked)


def canvas_with_legend(sess: Session, overlay: str) -> str:
    tr, view = sess.trace, get_view(sess.task)
    lo, hi = overlays.overlay_range(tr, overlay) if tr is not None else (0.0, 1.0)
    k = clamp_view(tr, sess.shown_step)
    return canvas_html(tr, k, overlay, view, rng=(lo, hi)) + legend_html(overlay, lo, hi, view)


def explore_outputs(sess: Session, overlay="none", plots=True):
    """(session, canvas, status, slider, entropy curve, heatmaps..., step JSON, messages)."""
    import gradio as gr

    overlay = overlay if overlay in overlays.overlays() else "none"
    tr = sess.trace
    k = clamp_view(tr, sess.shown_step)
    status = status_html(tr, k, sess.task, busy=sess.live and not sess.state.done and tr.num_steps > 0,
                         ceiling=sess.order_ceiling)
    n = tr.num_steps if tr is not None else 0
    slider = gr.Slider(minimum=0, maximum=max(1, n - 1), value=max(0, k), step=1, interactive=n > 1,
                       label=f"Step (0–{max(0, n - 1)})")
    if plots:
        figs = (charts.entropy_figure([("run", tr)], k), *(charts.heatmap_figure(tr, f, k) for f in heatmap_slots(sess)))
    else:
        figs = (gr.skip(),) * (1 + len(FIXED_HEATMAPS) + 1)
    notes = sess.take_notes()
    for kind, text in notes:
        notify(kind, text)
    return (sess, canvas_with_legend(sess, overlay), status, slider, *figs, step_summary(tr, k, sess.task),
            message_html(notes))
