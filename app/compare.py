"""The Compare tab: branch a run at a step under another policy, and show both trajectories."""
from __future__ import annotations

import html
import queue
import re
import threading
import time

import numpy as np

from boe_core import ConfigError, DecodeConfig, Trace, branch as core_branch, diff as core_diff
from boe_core.tasks.token_text import is_bytelevel, token_text
from boe_core.tasks.views import get_view

from . import charts
from .canvas import canvas_html, empty
from .common import PLOT_INTERVAL_S, add_vocab, ensure, model_for, notify, trace_and_step
from .session import BRANCH_DEFAULT, Session, UserError, as_int, preset_overrides


def compare_summary_html(a, b, d, task="text") -> str:
    """The branch point, the first divergent commit and (with a checker) each run's outcome."""
    if a is None or b is None:
        return ('<div class="boe-status">Pick a step in <b>Explore</b>, choose a policy and press '
                '<b>Branch</b>: the steps before it are kept, the rest is decoded again.</div>')
    at = b.meta.get("branched_from", {}).get("step")
    iv = intervention_of(a, b)
    bits = [intervention_badge(a, iv) if iv is not None else f'<span class="badge strong">branched at step {at}</span>',
            f'<span class="badge policy">A: {html.escape(str(a.config.get("policy")))}</span>',
            f'<span class="badge policy alt">B: {html.escape(str(b.config.get("policy")))}</span>']
    if d is None or d.first_divergent_step is None:
        bits.append('<span class="badge ok">identical so far</span>')
    else:
        bl = is_bytelevel(a.id_to_token)
        ta = ", ".join(f"{token_text(a.id_to_token.get(t, '?'), bl)!r}@{p}" for p, t in zip(d.positions_a, d.tokens_a))
        tb = ", ".join(f"{token_text(b.id_to_token.get(t, '?'), bl)!r}@{p}" for p, t in zip(d.positions_b, d.tokens_b))
        bits.append(f'<span class="badge diverge">first divergent commit: step {d.first_divergent_step}</span>')
        bits.append(f'<span class="badge">A commits {html.escape(ta)}</span><span class="badge">B commits {html.escape(tb)}</span>')
        bits.append(f'<span class="badge muted">final canvases differ at {int(d.final_differs.sum())} positions</span>')
    view = get_view(task)
    for lbl, t in (("A", a), ("B", b)):
        out = view.outcome(t, lbl)
        if out is not None:
            bits.append(f'<span class="badge {out[0]}">{html.escape(out[1])}</span>')
    return f'<div class="boe-status">{"".join(bits)}</div>'


def compare_marks(a, b, d, task="text") -> list:
    """(step, label) markers of the entropy chart: branch, first divergence, first wrong commits."""
    marks = []
    iv = intervention_of(a, b)
    if iv is not None:
        marks.append((iv["step"], "edit"))
    elif b is not None:
        marks.append((b.meta.get("branched_from", {}).get("step"), "branch"))
    if d is not None and d.first_divergent_step is not None:
        marks.append((d.first_divergent_step, "diverge"))
    view = get_view(task)
    for lbl, t in (("A", a), ("B", b)):
        fw = view.first_wrong(t) if t is not None and view.can_check(t) else None
        if fw is not None:
            marks.append((fw["step"], f"{lbl} wrong"))
    return marks


def compare_outputs(sess: Session, k=None):
    """(session, canvas A, canvas B, summary, entropy chart, compare slider, compare JSON)."""
    import gradio as gr

    a, b = sess.trace, sess.branch
    if b is None:
        return (sess, empty("No branch yet."), empty("—"), compare_summary_html(None, None, None),
                charts.empty_figure("Total masked entropy per step", "branch to compare two runs"),
                gr.Slider(minimum=0, maximum=1, value=0, interactive=False), {})
    d, view = sess.diff, get_view(sess.task)
    n = max(a.num_steps, b.num_steps)
    k = n - 1 if k is None else max(0, min(n - 1, int(k)))
    sess.compare_view = k
    split = d is not None and d.first_divergent_step is not None
    ka, kb = min(k, a.num_steps - 1), min(k, b.num_steps - 1)
    ca = canvas_html(a, ka, "none", view, highlight=d.positions_a if split else (), title=f"A · {a.config.get('policy')} (step {ka})")
    iv = intervention_of(a, b)
    cb = canvas_html(b, kb, "none", view, highlight=d.positions_b if split else (), title=f"B · {b.config.get('policy')} (step {kb})"
                     + (f" · edited before step {iv['step']}" if iv is not None else ""))
    if iv is not None and kb >= iv["step"] - 1:  # the edit shows from the canvas it was made on
        cb = mark_cells(cb, iv["positions"], "edited", "edited by you before step %d" % iv["step"])
    fig = charts.entropy_figure([(f"A: {a.config.get('policy')}", a), (f"B: {b.config.get('policy')}", b)], k,
                                marks=compare_marks(a, b, d, sess.task))
    info = {"branched_at": b.meta.get("branched_from", {}).get("step") if iv is None else iv["step"],
            "intervention": iv, "policy_a": a.config.get("policy"),
            "policy_b": b.config.get("policy"), "steps_a": a.num_steps, "steps_b": b.num_steps,
            "first_divergent_step": None if d is None else d.first_divergent_step,
            "positions_a": [] if d is None else list(map(int, d.positions_a)),
            "positions_b": [] if d is None else list(map(int, d.positions_b)),
            "final_differs": 0 if d is None else int(d.final_differs.sum())}
    for lbl, t in (("a", a), ("b", b)):
        info.update({f"{key}_{lbl}": v for key, v in view.compare_facts(t).items()})
    slider = gr.Slider(minimum=0, maximum=max(1, n - 1), value=k, step=1, interactive=n > 1)
    return (sess, ca, cb, compare_summary_html(a, b, d, sess.task), fig, slider, info)


def partial_of(a: Trace, at: int, policy: str, overrides: dict, meta: dict) -> Trace:
    """Run B while it is computed: A's first `at` steps under B's settings, A's meta updated by `meta`."""
    return Trace(model=a.model, config=DecodeConfig.from_dict(a.config).replace(policy=policy, **overrides).to_dict(),
                 initial_canvas=a.initial_canvas, fixed=a.fixed, attention_mask=a.attention_mask,
                 schedule=a.schedule, mask_id=a.mask_id, records=list(a.records[:at]), id_to_token=dict(a.id_to_token),
                 meta={**a.meta, **meta})


def _partial(a: Trace, at: int, policy: str, overrides: dict) -> Trace:
    return partial_of(a, at, policy, overrides, {"branched_from": {"step": at, "policy": a.config.get("policy")}})


# --- interventions (app/intervene.py makes them; Compare shows them) ---------------------------------
def intervention_of(a, b) -> dict | None:
    """The edit that made B from A (boe_core.intervene's record), or None when B is a plain branch."""
    if a is None or b is None:
        return None
    mine, theirs = b.meta.get("interventions", []), a.meta.get("interventions", [])
    return mine[-1] if len(mine) > len(theirs) else None


def intervention_badge(a, iv: dict) -> str:
    bl = is_bytelevel(a.id_to_token)
    show = lambda t: "[MASK]" if t == "mask" else repr(token_text(a.id_to_token.get(int(t), f"<{t}>"), bl))  # noqa: E731
    what = ", ".join(f"position {p}: {show(o)} → {show(n)}" for p, o, n in zip(iv["positions"], iv["old"], iv["new"]))
    return (f'<span class="badge strong edited">intervened before step {iv["step"]}</span>'
            f'<span class="badge edited">{html.escape(what)}</span>')


_CELL = re.compile(r'class="([^"]*)" data-pos="(\d+)" data-tip="([^"]*)"')


def mark_cells(body: str, positions, cls: str, tip: str = "", extra: dict | None = None) -> str:
    """A canvas' HTML with the cells at `positions` given the class `cls` (and a tooltip line;
    `extra`: {position: attribute text} added to each)."""
    want = {int(p) for p in positions}

    def sub(m):
        p = int(m.group(2))
        if p not in want:
            return m.group(0)
        more = "" if extra is None or p not in extra else " " + extra[p]
        t = m.group(3) + (html.escape("\n" + tip, quote=True) if tip else "")
        return f'class="{m.group(1)} {cls}" data-pos="{p}" data-tip="{t}"{more}'

    return _CELL.sub(sub, body)


def default_branch_step(trace) -> int | None:
    """The first step where the run committed something else than confidence's own pick, or took a
    commit back (where a confidence sampler would have gone its own way); None when the run is
    confidence's throughout."""
    if trace is None:
        return None
    for r in trace.records:
        if not np.array_equal(r.chosen[0], r.signal("confidence_pick")[0]) or r.remasked[0].any():
            return r.step
    return None


def default_step_hint(sess):
    """(the Compare tab's branch step, its hint) after a run: the first departure from confidence."""
    sess = ensure(sess)
    tr = sess.trace
    if tr is None or not tr.records:
        return gr_skip(), ""
    k = default_branch_step(tr)
    if k is None:
        return 0, ("This run commits what confidence would at every step, so a confidence branch repeats it; "
                   "branch under another policy instead.")
    return k, (f"Step {k} is where this run ({tr.config.get('policy')}) first commits something other than "
               f"confidence's own pick: branching there shows the trajectory confidence would have taken.")


def gr_skip():
    import gradio as gr

    return gr.skip()


def stream_branch(sess, base, partial, adapter, name: str, failed: str, decode):
    """Decode a branch of `base` in a worker thread (`decode(callback)` returns the finished trace),
    showing each new step of `partial` in Compare as it comes, then the finished branch with its
    diff in the session (a branch and an intervention both stream this way)."""
    q: "queue.Queue" = queue.Queue()
    result: dict = {}

    def work():
        try:
            result["trace"] = decode(q.put)
        except Exception as e:  # surfaced below as a message
            result["error"] = e
        finally:
            q.put(None)

    threading.Thread(target=work, name=f"boe-{name}", daemon=True).start()
    sess.branch, sess.diff = partial, None
    last = 0.0
    while (rec := q.get()) is not None:
        add_vocab(adapter, partial, [rec.canvas_after, rec.topk_ids])
        partial.records.append(rec)
        if time.perf_counter() - last >= PLOT_INTERVAL_S:
            sess.diff = core_diff(base, partial)
            last = time.perf_counter()
            yield compare_outputs(sess)
    if "error" in result:
        e = result["error"]
        if isinstance(e, (ConfigError, UserError)):
            raise e
        raise UserError(f"{failed}: {type(e).__name__}: {e}")
    sess.branch = result["trace"]
    sess.diff = core_diff(base, sess.branch)


def branch(sess, preset=BRANCH_DEFAULT, at_step=None):
    """Re-decode from step `at_step` under another policy preset, yielding after every step; then
    compare both trajectories. Without `at_step`: the first step where the run departs from
    confidence's own pick (else the selected step)."""
    sess = ensure(sess)
    if at_step is None and sess.trace is not None:
        at_step = default_branch_step(sess.trace)
    a, at = trace_and_step(sess, at_step, "nothing to branch from")
    policy, overrides = preset_overrides(preset or BRANCH_DEFAULT)
    adapter = model_for(a, "Branching")
    DecodeConfig.from_dict(a.config).replace(policy=policy, **overrides).validate()
    yield from stream_branch(sess, a, _partial(a, at, policy, overrides), adapter, "branch", "branching failed",
                             lambda callback: core_branch(adapter, a, at, policy, callback=callback, **overrides))
    if not a.finished:
        notify("warn", "Run A is not finished: run it to the end for a full comparison.")
    yield compare_outputs(sess)


def compare_select(sess, k=None):
    sess = ensure(sess)
    out = compare_outputs(sess, None if k is None else as_int("step", k, minimum=0))
    return out[1], out[2]
