"""Explore-tab handlers: session state in, rendered outputs out (the Compare, Fidelity and file
handlers live in app.compare, app.fidelity and app.files).

Each handler takes the session (the `gr.State` value, possibly None) and plain values, and returns
(or, for Run, yields) the outputs wired in `app/tabs/explore.py`. The run inputs are declared once in
`app.inputs`; `takes_run_inputs` gives the API handlers one named parameter per input. User mistakes
raise `ConfigError` / `UserError`, which `app.guard.guard` turns into a message. The decoding is
boe_core's step loop: one `boe_core.step` per yielded update.
"""
from __future__ import annotations

import json
import logging
import time

from boe_core import ConfigError, init_state, step as core_step
from boe_core.ceiling import order_ceiling
from boe_core.sampler import new_trace
from boe_core.tasks.views import get_view, views

from . import jobs, models, overlays
from .canvas import clamp_view
from .common import PLOT_INTERVAL_S, add_vocab, ensure
from .explore import canvas_with_legend, explore_outputs
from .inputs import decode_names, takes_form_inputs, takes_run_inputs
from .session import PRESETS, Session, UserError, as_int, build_config, preset_overrides, session_lock

log = logging.getLogger("boe_explorer")


# --- starting and stepping ----------------------------------------------------------------------------
def _plan(values: dict):
    """(config, adapter, view, canvas plan, initial state) of the inputs: all validated (the config
    by DecodeConfig, steps against the canvas by the schedule), no model forward yet."""
    cfg = build_config(**{k: values[k] for k in decode_names() if k in values})
    adapter = models.get_adapter(values["model"])
    view = get_view(getattr(adapter, "task", "text"))
    plan = view.build_canvas(adapter, values)
    state = init_state(adapter, plan.ids, cfg, plan.attention_mask, target=plan.target)  # only the oracle reads it
    return cfg, adapter, view, plan, state


def _signature(model, plan, cfg) -> tuple:
    am = plan.attention_mask
    return (model, plan.ids.numpy().tobytes(), None if am is None else am.numpy().tobytes(),
            json.dumps(cfg.to_dict(), sort_keys=True))


def prepare(sess: Session, values: dict) -> bool:
    """Make sure the session decodes what the inputs say; returns True when a new run was started."""
    models.check_name(values["model"])
    cfg, adapter, view, plan, state = _plan(values)
    sig = _signature(values["model"], plan, cfg)
    if sess.trace is not None and sess.live and sig == sess.signature:
        return False
    jobs.cancel_session(sess.uid)  # every background job of the run being replaced, of any tab
    trace = new_trace(adapter, state, cfg, meta={**plan.meta, "session": sess.uid, "source": "live"})
    add_vocab(adapter, trace, [trace.initial_canvas, [adapter.mask_id]])
    sess.model, sess.task, sess.config, sess.trace, sess.state = values["model"], view.name, cfg, trace, state
    sess.forget_run_state()  # what every tab kept about the run being replaced
    sess.answer = plan.target
    sess.signature = sig
    for n in plan.notes:
        sess.note(*n)
    return True


def advance(sess: Session) -> bool:
    """Compute the next step of a live run (under the session lock). False when there is none."""
    lock = session_lock(sess)
    if not lock.acquire(timeout=120):
        raise UserError("this session is busy; try again in a moment")
    try:
        if sess.state is None or sess.state.done:
            return False
        adapter = models.get_adapter(sess.model)
        state, record = core_step(adapter, sess.state, sess.config)
        add_vocab(adapter, sess.trace, [record.canvas_after, record.topk_ids])
        sess.trace.records.append(record)
        sess.state = state
        sess.shown_step = sess.trace.num_steps - 1
        if state.done:
            _order_ceiling(sess, adapter)
        return True
    finally:
        lock.release()


def _order_ceiling(sess: Session, adapter) -> None:
    """A finished run that its checker says is wrong: would the oracle order, with the same model,
    budget and seed, have solved it? (one more decode; `sess.order_ceiling`, shown as a badge
    on the last step). Nothing runs for a right run, free text, or a prompt whose answer the view does not know."""
    tr, view = sess.trace, get_view(sess.task)
    try:
        if sess.answer is None or not view.can_check(tr) or view.solved(tr, tr.num_steps - 1):
            return
        ceiling = order_ceiling(adapter, tr, sess.answer)
        sess.order_ceiling = {"policy": ceiling.config["policy"], "steps": ceiling.num_steps,
                              "solved": bool(view.solved(ceiling, ceiling.num_steps - 1))}
    except Exception:  # a ceiling is a hint: never fail the run over it
        log.exception("the order ceiling failed")


def _step_once(sess: Session, values: dict) -> bool:
    """One step forward; returns False at the end of the trace."""
    if sess.trace is not None and not sess.live:  # a loaded trace: replay only
        if sess.shown_step < sess.trace.num_steps - 1:
            sess.shown_step += 1
            return True
        return False
    if prepare(sess, values):
        sess.note("info", "Started a new run with the current settings.")
    if sess.shown_step < sess.trace.num_steps - 1:
        sess.shown_step += 1
        return True
    return advance(sess)


# --- the Explore tab's actions ----------------------------------------------------------------------------
def _run(sess, values, overlay):
    """Decode every remaining step, yielding after each one (streaming)."""
    sess = ensure(sess)
    prepare(sess, values)
    yield explore_outputs(sess, overlay)
    last_plot = time.perf_counter()
    while advance(sess):
        heavy = sess.state.done or time.perf_counter() - last_plot >= PLOT_INTERVAL_S
        out = explore_outputs(sess, overlay, plots=heavy)
        if heavy:
            last_plot = time.perf_counter()  # measured after rendering, so plots never dominate
        yield out
    if sess.trace is not None and sess.trace.records and sess.shown_step != sess.trace.num_steps - 1:
        sess.shown_step = sess.trace.num_steps - 1
        yield explore_outputs(sess, overlay)


def _step(sess, values, overlay):
    """Show the next step: revisit it if it is already computed, else compute it."""
    sess = ensure(sess)
    _step_once(sess, values)
    return explore_outputs(sess, overlay)


def back(sess, overlay="none"):
    sess = ensure(sess)
    if sess.trace is not None and sess.trace.records:
        sess.shown_step = max(0, clamp_view(sess.trace, sess.shown_step) - 1)
    return explore_outputs(sess, overlay)


def select(sess, at_step, overlay="none"):
    """Move the view to a computed step (the slider)."""
    sess = ensure(sess)
    if sess.trace is not None and sess.trace.records:
        sess.shown_step = clamp_view(sess.trace, as_int("step", at_step, minimum=0))
    return explore_outputs(sess, overlay)


def set_overlay(sess, overlay="none"):
    """Re-render only the canvas (with its legend) under another overlay."""
    sess = ensure(sess)
    if overlay not in overlays.overlays():
        raise ConfigError("overlay", overlay, f"must be one of {', '.join(overlays.overlays())}")
    return canvas_with_legend(sess, overlay)


def signal_menus(sess, overlay="none", signal="grad_norm"):
    """The overlay radio and the heatmap signal menu for the shown run: the signals it recorded,
    plus the ones every run has (the current choice stays when the run has it)."""
    import gradio as gr

    tr = ensure(sess).trace
    choices = overlays.run_overlay_choices(tr)
    names = [n for _, n in choices]
    signals = [n for n in names if n != "none"]
    return (gr.Radio(choices=choices, value=overlay if overlay in names else "none"),
            gr.Dropdown(choices=[(overlays.get(n).label, n) for n in signals],
                        value=signal if signal in signals else (signals[0] if signals else None)))


def set_heatmap(sess, signal="grad_norm"):
    """Draw any declared signal as the third heatmap (position × step)."""
    from . import charts

    sess = ensure(sess)
    choices = overlays.heatmap_signals()
    if signal not in choices:
        raise ConfigError("signal", signal, f"must be one of {', '.join(choices)}")
    sess.heatmap = signal
    return sess, charts.heatmap_figure(sess.trace, signal, clamp_view(sess.trace, sess.shown_step))


def _reset(sess, values, overlay):
    """Forget the run and show the fresh canvas of the current inputs (all masked)."""
    import gradio as gr

    sess = Session(uid=ensure(sess).uid)
    try:
        prepare(sess, values)
    except (ConfigError, UserError) as e:
        sess.note("warn", str(e))
    return (*explore_outputs(sess, overlay), gr.Timer(active=False))


def _play_tick(sess, values, overlay):
    """One animation tick of Play: the next step (computed if needed); stops the timer at the end."""
    import gradio as gr

    sess = ensure(sess)
    moved = _step_once(sess, values)
    at_end = sess.trace is None or (sess.done and sess.shown_step >= sess.trace.num_steps - 1)
    # Only ever switch the timer off here: returning active=True could undo a Pause pressed meanwhile.
    return (*explore_outputs(sess, overlay), gr.skip() if moved and not at_end else gr.Timer(active=False))


# The API's handlers take the chosen policy's settings as one object; the form's take every
# policy's knob inputs and read the chosen policy's (see app.inputs).
run, step, reset, play_tick = (takes_run_inputs(f) for f in (_run, _step, _reset, _play_tick))


def form_handlers(scoped: tuple) -> dict:
    """The form's run, step, reset and play_tick, for the (policy, knob) inputs `scoped`."""
    return {f.__name__[1:]: takes_form_inputs(f, scoped) for f in (_run, _step, _reset, _play_tick)}


# --- setup-field glue (no model compute) ------------------------------------------------------------------
def preset_values(preset: str, model: str | None = None) -> dict:
    """The policy of a preset and its every setting, for the UI fields: {"policy", "settings"}.
    With a model, its own presets (its folder's presets.json) are looked up first."""
    from boe_core.presets import preset_settings

    policy, settings = preset_settings(preset, model=model) if model else preset_overrides(preset)
    return {"policy": policy, "settings": settings}


def default_inputs(model: str | None) -> dict:
    """First values of the run inputs for a model: its task view's defaults (a prompt, an example
    puzzle) first, then the other views' for the inputs it hides; one token per step; the default
    preset (the model's own BoE default where its folder names one)."""
    from boe_core.presets import default_preset_for

    view = get_view(models.task_of(model) if model else "text")
    vals: dict = {}
    for v in (view, *views().values()):  # registry order: text first
        for k, x in v.default_values().items():
            vals.setdefault(k, x)
    return {"task": view.name, **vals, "steps": view.default_steps(vals) or 24, "block_length": 0,
            "temperature": 0.0, "seed": 0, **preset_values(default_preset_for(model), model)}


__all__ = ["run", "step", "back", "select", "set_overlay", "reset", "play_tick", "default_inputs", "preset_values",
           "Session", "PRESETS"]
