"""The Lock-in tab: for a finished run, what happens when the rest of the decode is handed to
confidence (or another policy) at every step k (boe_core.lockin). Computed in the background with
progress, cancellable, cached per trace for every session; drawn as one chart of step × outcome;
a click on a step opens that hand-over in Compare."""
from __future__ import annotations

import html

from boe_core import POLICIES, ConfigError
from boe_core.lockin import LockInCache, lockin_map, trace_key

from . import jobs
from .common import ensure, model_for, trace_and_step
from .session import UserError

CACHE = LockInCache(size=64)  # shared by every session: the same run gives the same map
KIND = "lockin"


def _check_policy(policy) -> str:
    if policy not in POLICIES:
        raise ConfigError("policy", policy, f"must be one of {', '.join(sorted(POLICIES))}")
    return policy


def _finished_trace(sess):
    tr, _ = trace_and_step(sess, 0, "no run to map")
    total = len(tr.schedule.get("step_block", [])) or tr.num_steps
    if not tr.finished:
        raise UserError(f"the run has {tr.num_steps} of {total} steps: run it to the end first (the map hands over "
                        f"the rest of a finished run)")
    return tr


# --- rendering (pure) ----------------------------------------------------------------------------
def _outcome(p) -> tuple[str, str]:
    """(CSS class, short label) of a hand-over point."""
    if p.solved is None:
        return "unknown", ""
    if p.solved:
        return "solved", "✓"
    return "wrong", "✗" if p.first_wrong_step is None else str(p.first_wrong_step)


def _tip(p, m, unit: str) -> str:
    how = "rolled out" if p.rollout else "inferred: the run's commit here is confidence's own pick"
    if p.solved is None:
        verdict = "no checker for this task"
    elif p.solved:
        verdict = "solved"
    else:
        verdict = "wrong" + ("" if p.first_wrong_step is None else f", first wrong commit at step {p.first_wrong_step}")
    return (f"hand over to {m.policy} at step {p.step}: {verdict}; {p.distance} {unit} differ from the run "
            f"({how}). Click to open this branch in Compare.")


def lockin_html(m, selected: int | None = None, unit: str = "positions") -> str:
    """One column per hand-over step: the outcome cell (green solved, red wrong with the step of
    its first wrong commit, grey without a checker; pale when inferred) over a bar of the distance
    between its final canvas and the run's."""
    if m is None:
        return ('<div class="lockin li-empty">Run to the end, then press <b>Compute the lock-in map</b>: for every step '
                'k, the rest of the decode is handed to confidence and its outcome shown here.</div>')
    if not m.points:
        return '<div class="lockin li-empty">No hand-over computed (cancelled before the first point).</div>'
    top = max(1, max(p.distance for p in m.points))
    cols = []
    for p in m.points:
        cls, label = _outcome(p)
        h = 100.0 * p.distance / top
        sel = " sel" if selected is not None and p.step == selected else ""
        cols.append(f'<div class="li-col{sel}" data-step="{p.step}" title="{html.escape(_tip(p, m, unit), quote=True)}">'
                    f'<div class="li-out {cls}{"" if p.rollout else " inferred"}">{html.escape(label)}</div>'
                    f'<div class="li-barbox"><div class="li-bar" style="height:{h:.1f}%"></div></div>'
                    f'<div class="li-x">{p.step}</div></div>')
    return (f'<div class="lockin"><div class="li-axis">outcome of handing over to <b>{html.escape(m.policy)}</b> at '
            f'step k (cell: ✓ solved, a number = step of the first wrong commit; pale = inferred, no rollout)</div>'
            f'<div class="li-cols">{"".join(cols)}</div>'
            f'<div class="li-axis">bars: {unit} where the hand-over\'s final canvas differs from the run\'s '
            f'(max {top}); x: hand-over step k</div></div>')


def summary_html(m, job=None, cached=False) -> str:
    if job is not None and not job.finished.is_set():
        pct = 100.0 * job.done / job.total if job.total else 0.0
        return (f'<div class="boe-status"><span class="badge run">computing the lock-in map</span>'
                f'<span class="badge">{job.done} / {job.total or "?"} steps</span></div>'
                f'<div class="progress"><div style="width:{pct:.0f}%"></div></div>')
    if m is None:
        return ""
    bits = [f'<span class="badge strong">{len(m.points)} hand-over points</span>',
            f'<span class="badge">{m.rollouts} rollouts</span>',
            f'<span class="badge muted">{m.seconds:.1f} s{" (cached)" if cached else ""}</span>']
    if not m.complete:
        bits.append('<span class="badge warn">cancelled: partial map</span>')
    checked = [p for p in m.points if p.solved is not None]
    if checked:
        good = [p.step for p in checked if p.solved]
        bits.append(f'<span class="badge {"ok" if m.run_solved else "bad"}">run ({html.escape(m.run_policy)}): '
                    f'{"solved" if m.run_solved else "wrong"}</span>')
        bits.append(f'<span class="badge">{m.policy} solves it from {len(good)} of {len(checked)} steps</span>')
        if not m.run_solved and good:
            bits.append(f'<span class="badge ok">last rescue: hand over at step {max(good)}</span>')
        if m.run_solved and len(good) < len(checked):
            bad = [p.step for p in checked if not p.solved]
            bits.append(f'<span class="badge diverge">{m.policy} locks into an error when handed the run at '
                        f'{len(bad)} steps, the last at step {max(bad)}</span>')
    return f'<div class="boe-status">{"".join(bits)}</div>'


def lockin_json(m, job=None, cached=False) -> dict:
    out = {**(job.info() if job is not None else {"job_id": None, "status": "done"}), "cached": cached}
    if m is not None:
        out.update(m.to_dict())
    return out


# --- handlers ------------------------------------------------------------------------------------
def _unit(sess) -> str:
    from boe_core.tasks.views import get_view

    return "cells" if get_view(sess.task).layout == "grid" else "positions"


def lockin(sess, policy="confidence"):
    """Compute (or fetch from the shared cache) the lock-in map of the session's finished run,
    yielding progress; (session, chart, summary, JSON with the job id)."""
    sess = ensure(sess)
    policy = _check_policy(policy or "confidence")
    tr = _finished_trace(sess)
    adapter = model_for(tr, "The lock-in map")
    key = trace_key(tr, policy)
    unit = _unit(sess)
    hit = CACHE.get(key)
    if hit is not None:
        sess.lockin = hit
        yield sess, lockin_html(hit, unit=unit), summary_html(hit, cached=True), lockin_json(hit, cached=True)
        return

    def work(job):
        return lockin_map(adapter, tr, policy=policy, callback=job.progress, cancel=job.cancel)

    job = jobs.start(KIND, sess.uid, work)
    job.total = tr.num_steps
    for j in jobs.follow(job):
        if not j.finished.is_set():
            yield sess, lockin_html(None, unit=unit), summary_html(None, j), lockin_json(None, j)
    if job.error is not None:
        e = job.error
        raise e if isinstance(e, (ConfigError, UserError)) else UserError(f"the lock-in map failed: {type(e).__name__}: {e}")
    m = job.result
    CACHE.put(key, m)  # a cancelled (partial) map is not cached
    sess.lockin = m
    yield sess, lockin_html(m, unit=unit), summary_html(m), lockin_json(m, job)


def auto_lockin(sess, policy="confidence"):
    """The map started by the UI after Run: silent when there is nothing to map (an unfinished
    run, a model this server does not offer)."""
    import gradio as gr

    sess = ensure(sess)
    try:
        _finished_trace(sess)
        model_for(sess.trace, "The lock-in map")
    except (ConfigError, UserError):
        yield sess, gr.skip(), gr.skip(), gr.skip()
        return
    yield from lockin(sess, policy)


def lockin_cancel(sess, job_id=""):
    """Stop a running lock-in map: the job `job_id`, or this session's running one."""
    sess = ensure(sess)
    stopped = jobs.cancel(KIND, sess.uid, job_id or None)
    return {"cancelled": [j.id for j in stopped]}


def lockin_open(sess, at_step=None):
    """Open the hand-over at `at_step` side by side in Compare (a branch under the map's policy;
    the Compare outputs)."""
    from .compare import branch

    sess = ensure(sess)
    if sess.lockin is None:
        raise UserError("no lock-in map yet: compute it first")
    if at_step is None:
        raise ConfigError("at_step", at_step, "must be a step of the map")
    _, k = trace_and_step(sess, at_step, "no run to branch")
    yield from branch(sess, sess.lockin.policy, k)
