"""Event handlers: session state in, rendered outputs out.

Each public handler takes the session (the `gr.State` value, possibly None) and plain values, and
returns (or, for streaming ones, yields) a tuple in the order of the outputs wired in `app.ui`.
Handlers raise `ConfigError` / `UserError` for user mistakes; `app.ui.guard` turns those into a
`gr.Error` message (never a traceback). The decoding itself is boe_core's step loop: one
`boe_core.step` per yielded update, so each step is shown as soon as it is computed.
"""
from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from boe_core import ConfigError, DecodeConfig, Trace, branch as core_branch, diff as core_diff, init_state, step as core_step
from boe_core.canvas import prompt_canvas
from boe_core.sampler import new_trace

from . import models, render
from .session import (BRANCH_DEFAULT, MAX_GEN_LENGTH, PRESETS, Session, UserError, as_int, build_config, check_prompt,
                      check_puzzle, preset_overrides, session_lock)

log = logging.getLogger("boe_explorer")

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
PLOT_INTERVAL_S = 1.0  # while streaming, heavy plots refresh at most this often (always on the last step)
EXPORT_DIR = Path(tempfile.mkdtemp(prefix="boe-explorer-"))
_EXPORT_KEEP = 200

INPUT_NAMES = ("model", "prompt", "gen_length", "puzzle", "policy", "steps", "block_length", "temperature", "seed",
               "r", "rho", "gamma", "lam", "h_max", "tau_s", "linearize_at", "probe_scope", "use_aqa")


def _notify(kind: str, text: str) -> None:
    """A toast in the browser (no-op outside a request)."""
    try:
        import gradio as gr
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (gr.Warning if kind in ("warn", "error") else gr.Info)(text)
    except Exception:  # pragma: no cover - best effort
        pass


def ensure(sess) -> Session:
    return sess if isinstance(sess, Session) else Session()


# --- starting and stepping ----------------------------------------------------------------------------
def _vocab(adapter, trace, arrays) -> None:
    ids = set()
    for a in arrays:
        ids.update(int(i) for i in np.unique(a) if i >= 0)
    missing = [i for i in ids if i not in trace.id_to_token]
    for i in missing:
        trace.id_to_token[i] = adapter.id_to_token(i)


def start(sess: Session, model, prompt, gen_length, puzzle, cfg: DecodeConfig) -> None:
    """Validate the inputs and plan a new run (no model forward yet); replaces the session's trace."""
    adapter = models.get_adapter(model)
    task = getattr(adapter, "task", "text")
    notes = []
    if task == "sudoku":
        from boe_core.tasks.sudoku import puzzle_to_canvas

        p, sol, notes = check_puzzle(puzzle)
        ids, _ = puzzle_to_canvas(p, adapter.tokenizer)
        ids, am = ids[None], None
        meta = {"task": "sudoku", "puzzle": p, "solution": sol}
    else:
        prompt = check_prompt(prompt)
        gl = as_int("gen_length", gen_length, minimum=1, maximum=MAX_GEN_LENGTH)
        ids, am = prompt_canvas(adapter, prompt, gl)
        meta = {"task": "text", "prompt": prompt}
        if any(ord(c) > 0x24F for c in prompt):
            notes.append(("warn", "The prompt has characters outside the Latin alphabet; the shipped KJV model "
                                  "was trained on English only, so expect odd continuations."))
    masked = int((ids == adapter.mask_id).sum()) if am is None else int(((ids == adapter.mask_id) & am).sum())
    if cfg.steps > masked:
        raise ConfigError("steps", cfg.steps, f"must be at most the number of masked positions ({masked}): "
                                              "each step commits at least one token")
    state = init_state(adapter, ids, cfg, am)
    trace = new_trace(adapter, state, cfg, meta={**meta, "session": sess.uid, "source": "live"})
    _vocab(adapter, trace, [trace.initial_canvas, np.array([adapter.mask_id])])
    sess.model, sess.task, sess.config, sess.trace, sess.state = model, task, cfg, trace, state
    sess.view, sess.branch, sess.diff, sess.fidelity, sess.compare_view = -1, None, None, None, None
    sess.signature = _signature(model, ids, am, cfg)
    for n in notes:
        sess.note(*n)


def _signature(model, ids, am, cfg) -> tuple:
    return (model, ids.numpy().tobytes(), None if am is None else am.numpy().tobytes(),
            json.dumps(cfg.to_dict(), sort_keys=True))


def prepare(sess: Session, values: dict) -> bool:
    """Make sure the session decodes what the inputs say; returns True when a new run was started."""
    cfg = build_config(values["policy"], values["steps"], values["block_length"], values["temperature"],
                       values["seed"], values["r"], values["rho"], values["gamma"], values["lam"], values["h_max"],
                       values["tau_s"], values["linearize_at"], values["probe_scope"], values["use_aqa"])
    models.check_name(values["model"])
    if sess.trace is not None and sess.live and sess.signature is not None:
        adapter = models.get_adapter(values["model"])
        try:
            sig = _probe_signature(adapter, values, cfg)
        except ConfigError:
            sig = None
        if sig == sess.signature:
            return False
    start(sess, values["model"], values["prompt"], values["gen_length"], values["puzzle"], cfg)
    return True


def _probe_signature(adapter, values, cfg):
    if getattr(adapter, "task", "text") == "sudoku":
        from boe_core.tasks.sudoku import puzzle_to_canvas

        p, _, _ = check_puzzle(values["puzzle"])
        ids, _ = puzzle_to_canvas(p, adapter.tokenizer)
        return _signature(values["model"], ids[None], None, cfg)
    ids, am = prompt_canvas(adapter, check_prompt(values["prompt"]),
                            as_int("gen_length", values["gen_length"], minimum=1, maximum=MAX_GEN_LENGTH))
    return _signature(values["model"], ids, am, cfg)


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
        _vocab(adapter, sess.trace, [record.canvas_after, record.topk_ids])
        sess.trace.records.append(record)
        sess.state = state
        sess.view = sess.trace.num_steps - 1
        return True
    finally:
        lock.release()


def _collect(scope: dict) -> dict:
    return {k: scope[k] for k in INPUT_NAMES}


# --- rendering the Explore tab ---------------------------------------------------------------------------
def explore_outputs(sess: Session, overlay="none", plots=True):
    """(session, canvas, status, slider, entropy curve, 3 heatmaps, step JSON, messages)."""
    import gradio as gr

    overlay = overlay if overlay in render.OVERLAYS else "none"
    tr = sess.trace
    k = render.clamp_view(tr, sess.view)
    lo, hi = render.overlay_range(tr, overlay) if tr is not None else (0.0, 1.0)
    canvas = render.canvas_html(tr, k, overlay, sess.task, rng=(lo, hi)) + render.legend_html(overlay, lo, hi, sess.task)
    status = render.status_html(tr, k, sess.task, busy=sess.live and not sess.state.done and tr.num_steps > 0)
    n = tr.num_steps if tr is not None else 0
    slider = gr.Slider(minimum=0, maximum=max(1, n - 1), value=max(0, k), step=1, interactive=n > 1,
                       label=f"Step (0–{max(0, n - 1)})")
    if plots:
        figs = (render.entropy_figure([("run", tr)], k), render.heatmap_figure(tr, "entropy", k),
                render.heatmap_figure(tr, "tis", k), render.heatmap_figure(tr, "grad_norm", k))
    else:
        figs = (gr.skip(),) * 4
    notes = sess.take_notes()
    for kind, text in notes:
        _notify(kind, text)
    return (sess, canvas, status, slider, *figs, render.step_summary(tr, k, sess.task), render.message_html(notes))


def run(sess, model, prompt, gen_length, puzzle, policy, steps, block_length, temperature, seed,
        r, rho, gamma, lam, h_max, tau_s, linearize_at, probe_scope, use_aqa, overlay="none"):
    """Decode every remaining step, yielding after each one (streaming)."""
    sess = ensure(sess)
    values = _collect(locals())
    prepare(sess, values)
    yield explore_outputs(sess, overlay)
    last_plot = time.perf_counter()
    while advance(sess):
        heavy = sess.state.done or time.perf_counter() - last_plot >= PLOT_INTERVAL_S
        out = explore_outputs(sess, overlay, plots=heavy)
        if heavy:
            last_plot = time.perf_counter()  # measured after rendering, so plots never dominate
        yield out
    if sess.trace is not None and sess.trace.records and sess.view != sess.trace.num_steps - 1:
        sess.view = sess.trace.num_steps - 1
        yield explore_outputs(sess, overlay)


def step(sess, model, prompt, gen_length, puzzle, policy, steps, block_length, temperature, seed,
        r, rho, gamma, lam, h_max, tau_s, linearize_at, probe_scope, use_aqa, overlay="none"):
    """Show the next step: revisit it if it is already computed, else compute it."""
    sess = ensure(sess)
    _step_once(sess, _collect(locals()))
    return explore_outputs(sess, overlay)


def _step_once(sess: Session, values: dict) -> bool:
    """One step forward; returns False at the end of the trace."""
    if sess.trace is not None and not sess.live:  # a loaded trace: replay only
        if sess.view < sess.trace.num_steps - 1:
            sess.view += 1
            return True
        return False
    new = prepare(sess, values)
    if new:
        sess.note("info", "Started a new run with the current settings.")
    if sess.view < sess.trace.num_steps - 1:
        sess.view += 1
        return True
    return advance(sess)


def back(sess, overlay="none"):
    sess = ensure(sess)
    if sess.trace is not None and sess.trace.records:
        sess.view = max(0, render.clamp_view(sess.trace, sess.view) - 1)
    return explore_outputs(sess, overlay)


def select(sess, at_step, overlay="none"):
    """Move the view to a computed step (the slider)."""
    sess = ensure(sess)
    if sess.trace is not None and sess.trace.records:
        k = as_int("step", at_step, minimum=0)
        sess.view = render.clamp_view(sess.trace, k)
    return explore_outputs(sess, overlay)


def set_overlay(sess, overlay="none"):
    """Re-render only the canvas (with its legend) under another overlay."""
    sess = ensure(sess)
    if overlay not in render.OVERLAYS:
        raise ConfigError("overlay", overlay, f"must be one of {', '.join(render.OVERLAYS)}")
    tr = sess.trace
    lo, hi = render.overlay_range(tr, overlay) if tr is not None else (0.0, 1.0)
    k = render.clamp_view(tr, sess.view)
    return render.canvas_html(tr, k, overlay, sess.task, rng=(lo, hi)) + render.legend_html(overlay, lo, hi, sess.task)


def reset(sess, model, prompt, gen_length, puzzle, policy, steps, block_length, temperature, seed,
        r, rho, gamma, lam, h_max, tau_s, linearize_at, probe_scope, use_aqa, overlay="none"):
    """Forget the run and show the fresh canvas of the current inputs (all masked)."""
    import gradio as gr

    values = _collect(locals())
    sess = Session(uid=ensure(sess).uid)
    try:
        prepare(sess, values)
    except (ConfigError, UserError) as e:
        sess.note("warn", str(e))
    return (*explore_outputs(sess, overlay), gr.Timer(active=False))


def play_tick(sess, model, prompt, gen_length, puzzle, policy, steps, block_length, temperature, seed,
        r, rho, gamma, lam, h_max, tau_s, linearize_at, probe_scope, use_aqa, overlay="none"):
    """One animation tick of Play: the next step (computed if needed); stops the timer at the end."""
    import gradio as gr

    sess = ensure(sess)
    moved = _step_once(sess, _collect(locals()))
    at_end = sess.trace is None or (sess.done and sess.view >= sess.trace.num_steps - 1)
    # Only ever switch the timer off here: returning active=True could undo a Pause pressed meanwhile.
    return (*explore_outputs(sess, overlay), gr.skip() if moved and not at_end else gr.Timer(active=False))


# --- compare (branch) -----------------------------------------------------------------------------------
def _model_for(trace, what: str):
    if trace.model not in models.model_choices():
        raise UserError(f"{what} needs the model {trace.model!r} that made this trace, which this server does not "
                        f"offer ({', '.join(models.model_choices()) or 'no models'}); the trace can only be replayed")
    return models.get_adapter(trace.model)


def compare_outputs(sess: Session, k=None):
    """(session, canvas A, canvas B, summary, entropy chart, compare slider, compare JSON)."""
    import gradio as gr

    a, b = sess.trace, sess.branch
    if b is None:
        return (sess, render._empty("No branch yet."), render._empty("—"), render.compare_summary_html(None, None, None),
                render.empty_figure("Total masked entropy per step", "branch to compare two runs"),
                gr.Slider(minimum=0, maximum=1, value=0, interactive=False), {})
    d = sess.diff
    n = max(a.num_steps, b.num_steps)
    k = n - 1 if k is None else max(0, min(n - 1, int(k)))
    sess.compare_view = k
    hl_a = d.positions_a if d is not None and d.first_divergent_step is not None else ()
    hl_b = d.positions_b if d is not None and d.first_divergent_step is not None else ()
    ka, kb = min(k, a.num_steps - 1), min(k, b.num_steps - 1)
    ca = render.canvas_html(a, ka, "none", sess.task, highlight=hl_a, title=f"A · {a.config.get('policy')} (step {ka})")
    cb = render.canvas_html(b, kb, "none", sess.task, highlight=hl_b, title=f"B · {b.config.get('policy')} (step {kb})")
    fig = render.entropy_figure([(f"A: {a.config.get('policy')}", a), (f"B: {b.config.get('policy')}", b)], k,
                                marks=render.compare_marks(a, b, d, sess.task))
    info = {"branched_at": b.meta.get("branched_from", {}).get("step"), "policy_a": a.config.get("policy"),
            "policy_b": b.config.get("policy"), "steps_a": a.num_steps, "steps_b": b.num_steps,
            "first_divergent_step": None if d is None else d.first_divergent_step,
            "positions_a": [] if d is None else list(map(int, d.positions_a)),
            "positions_b": [] if d is None else list(map(int, d.positions_b)),
            "final_differs": 0 if d is None else int(d.final_differs.sum())}
    if sess.task == "sudoku":
        info["first_wrong_a"] = render.first_wrong_step(a)
        info["first_wrong_b"] = render.first_wrong_step(b)
    else:
        info["text_a"] = render.decode_text(a, a.final_canvas[0])
        info["text_b"] = render.decode_text(b, b.final_canvas[0])
    slider = gr.Slider(minimum=0, maximum=max(1, n - 1), value=k, step=1, interactive=n > 1)
    return (sess, ca, cb, render.compare_summary_html(a, b, d, sess.task), fig, slider, info)


def _trace_and_step(sess, at_step, nothing: str):
    """The session's trace and a computed step: `at_step`, or the selected one when None."""
    if sess.trace is None or not sess.trace.records:
        raise UserError(f"{nothing}: run (or load) a trace first")
    tr = sess.trace
    k = render.clamp_view(tr, sess.view) if at_step is None else as_int("at_step", at_step, minimum=0)
    if k >= tr.num_steps:
        raise ConfigError("at_step", k, f"must be a computed step in [0, {tr.num_steps})")
    return tr, k


def branch(sess, preset=BRANCH_DEFAULT, at_step=None):
    """Re-decode from step `at_step` (default: the selected step) under another policy preset,
    yielding after every step; then compare both trajectories."""
    sess = ensure(sess)
    a, at = _trace_and_step(sess, at_step, "nothing to branch from")
    policy, overrides = preset_overrides(preset or BRANCH_DEFAULT)
    adapter = _model_for(a, "Branching")
    DecodeConfig.from_dict(a.config).replace(policy=policy, **overrides).validate()
    q: "queue.Queue" = queue.Queue()
    result: dict = {}

    def work():
        try:
            result["trace"] = core_branch(adapter, a, at, policy, callback=q.put, **overrides)
        except Exception as e:  # surfaced below as a message
            result["error"] = e
        finally:
            q.put(None)

    threading.Thread(target=work, name="boe-branch", daemon=True).start()
    partial = Trace(model=a.model, config=DecodeConfig.from_dict(a.config).replace(policy=policy, **overrides).to_dict(),
                    initial_canvas=a.initial_canvas, fixed=a.fixed, attention_mask=a.attention_mask,
                    schedule=a.schedule, mask_id=a.mask_id, records=list(a.records[:at]),
                    id_to_token=dict(a.id_to_token),
                    meta={**a.meta, "branched_from": {"step": at, "policy": a.config.get("policy")}})
    sess.branch, sess.diff = partial, None
    last = 0.0
    while True:
        rec = q.get()
        if rec is None:
            break
        _vocab(adapter, partial, [rec.canvas_after, rec.topk_ids])
        partial.records.append(rec)
        if time.perf_counter() - last >= PLOT_INTERVAL_S:
            sess.diff = core_diff(a, partial)
            out = compare_outputs(sess)
            last = time.perf_counter()
            yield out
    if "error" in result:
        e = result["error"]
        if isinstance(e, (ConfigError, UserError)):
            raise e
        raise UserError(f"branching failed: {type(e).__name__}: {e}")
    sess.branch = result["trace"]
    sess.diff = core_diff(a, sess.branch)
    if a.num_steps < len(a.schedule.get("step_block", [])):
        _notify("warn", "Run A is not finished: run it to the end for a full comparison.")
    yield compare_outputs(sess)


def compare_select(sess, k=None):
    sess = ensure(sess)
    out = compare_outputs(sess, None if k is None else as_int("step", k, minimum=0))
    return out[1], out[2]


# --- fidelity ----------------------------------------------------------------------------------------------
def fidelity(sess, at_step=None):
    """TIS vs the exact one-step entropy drop of each BoE candidate at a step (|C| extra forwards)."""
    from boe_core import tis_fidelity

    sess = ensure(sess)
    tr, k = _trace_and_step(sess, at_step, "nothing to check")
    adapter = _model_for(tr, "The fidelity check")
    lock = session_lock(sess)
    with lock:
        fid = tis_fidelity(adapter, tr, k)
    sess.fidelity = fid
    rho = fid.spearman
    summary = {"step": fid.step, "positions": list(map(int, fid.positions)), "tis": list(map(float, fid.tis)),
               "delta": list(map(float, fid.delta)), "spearman": None if not np.isfinite(rho) else float(rho),
               "n_probes": int(fid.n_probes)}
    if fid.tis:
        verdict = ("TIS ranks the candidates like the exact entropy drop" if np.isfinite(rho) and rho > 0.5 else
                   "TIS and the exact drop disagree on the ranking here" if np.isfinite(rho) else
                   "too few distinct values for a rank correlation")
        text = (f'<div class="boe-status"><span class="badge strong">step {fid.step}</span>'
                f'<span class="badge">{len(fid.positions)} candidates · {fid.n_probes} probes</span>'
                f'<span class="badge {"ok" if np.isfinite(rho) and rho > 0.5 else "warn"}">Spearman ρ = '
                f'{"n/a" if not np.isfinite(rho) else f"{rho:+.3f}"}</span> {verdict}.</div>')
    else:
        text = '<div class="boe-status"><span class="badge warn">no candidates or probes at this step</span></div>'
    return sess, render.fidelity_figure(fid, tr), render.fidelity_table(fid, tr), text, summary


# --- export / import -------------------------------------------------------------------------------------
def export_trace(sess, fmt="json"):
    """Write the session's trace to a file (JSON: replayable; parquet: one row per step x position)."""
    sess = ensure(sess)
    if sess.trace is None or not sess.trace.records:
        raise UserError("nothing to export: run (or load) a trace first")
    fmt = (fmt or "json").lower().lstrip(".")
    if fmt not in ("json", "parquet"):
        raise ConfigError("format", fmt, "must be 'json' or 'parquet'")
    tr = sess.trace
    name = f"boe-trace-{_safe(tr.model)}-{_safe(tr.config.get('policy'))}-{sess.uid[:8]}-{int(time.time() * 1000)}.{fmt}"
    path = EXPORT_DIR / name
    if fmt == "json":
        tr.to_json(path)
    else:
        tr.to_parquet(path)
    _prune_exports()
    return str(path)


def _safe(s) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(s))[:40]


def _prune_exports():
    files = sorted(EXPORT_DIR.glob("boe-trace-*"), key=lambda p: p.stat().st_mtime)
    for p in files[:-_EXPORT_KEEP]:
        try:
            p.unlink()
        except OSError:
            pass


def load_trace_file(path) -> Trace:
    """Read and check an uploaded trace (JSON export). Raises UserError with a clear reason."""
    if path is None or (isinstance(path, str) and not path):
        raise UserError("no file given: choose a trace .json exported by the explorer")
    if isinstance(path, dict):
        path = path.get("path") or path.get("name")
    path = Path(str(path))
    if not path.is_file():
        raise UserError(f"file {path.name!r} was not received")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UserError(f"trace file is too large ({size / 2**20:.1f} MiB; the limit is {MAX_UPLOAD_BYTES / 2**20:.0f} MiB)")
    if path.suffix.lower() == ".parquet":
        raise UserError("parquet exports are tables for analysis and cannot be replayed; load the .json export")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError("trace file is not UTF-8 text; load the .json export") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise UserError(f"not a valid trace: the file is not valid JSON ({getattr(e, 'msg', 'too deeply nested')}{where})") from None
    try:
        trace = Trace.from_dict(data)
    except ValueError as e:
        raise UserError(f"not a valid trace: {e}") from None
    except (TypeError, KeyError, AttributeError, IndexError, OverflowError) as e:
        raise UserError(f"not a valid trace: malformed content ({type(e).__name__}: {e})") from None
    check_trace(trace)
    return trace


_FIELDS_2D = ("canvas_before", "canvas_after", "masked", "eligible", "proposals", "confidence", "margin", "entropy",
              "score", "tis", "grad_norm", "candidates", "probes", "chosen")
_KINDS = {"canvas_before": "i", "canvas_after": "i", "proposals": "i", "topk_ids": "i", "masked": "b", "eligible": "b",
          "candidates": "b", "probes": "b", "chosen": "b"}


def check_trace(t: Trace) -> None:
    """Shape and type checks so that a loaded trace renders (the schema check is boe_core's)."""
    def bad(msg):
        raise UserError(f"not a valid trace: {msg}")

    if t.initial_canvas.ndim != 2 or 0 in t.initial_canvas.shape:
        bad(f"initial_canvas must be a non-empty (batch, length) array, got shape {t.initial_canvas.shape}")
    B, N = t.initial_canvas.shape
    if N > 65536 or B > 1024:
        bad(f"canvas of shape {(B, N)} is too large")
    if t.initial_canvas.dtype.kind != "i":
        bad("initial_canvas must hold integer token ids")
    if t.fixed.shape != (B, N) or (t.attention_mask is not None and t.attention_mask.shape != (B, N)):
        bad("fixed / attention_mask do not match the canvas shape")
    if not t.records:
        bad("it has no steps")
    if len(t.records) > 20000:
        bad(f"{len(t.records)} steps is too many")
    sb = t.schedule.get("step_block") if isinstance(t.schedule, dict) else None
    if not isinstance(sb, list) or len(sb) < len(t.records):
        bad("schedule.step_block is missing or shorter than the records")
    if not isinstance(t.config, dict) or not isinstance(t.config.get("policy"), str):
        bad("config.policy is missing")
    for j, r in enumerate(t.records):
        if r.step != j:
            bad(f"record {j} says step {r.step!r}")
        for f in _FIELDS_2D:
            a = getattr(r, f)
            if not isinstance(a, np.ndarray) or a.shape != (B, N):
                bad(f"step {j}: field {f!r} has shape {getattr(a, 'shape', None)}, expected {(B, N)}")
        for f in ("topk_ids", "topk_probs"):
            a = getattr(r, f)
            if a.ndim != 3 or a.shape[:2] != (B, N):
                bad(f"step {j}: field {f!r} has shape {a.shape}, expected {(B, N)} + (k,)")
        for f, kind in _KINDS.items():
            if getattr(r, f).dtype.kind != kind:
                bad(f"step {j}: field {f!r} has dtype {getattr(r, f).dtype}")
        if r.fallback.shape != (B,):
            bad(f"step {j}: field 'fallback' has shape {r.fallback.shape}, expected {(B,)}")
        for f in ("n_forward", "n_backward"):
            if not isinstance(getattr(r, f), int):
                bad(f"step {j}: {f} must be an integer")
        if not isinstance(r.wall_time, (int, float)):
            bad(f"step {j}: wall_time must be a number")
    task = t.meta.get("task") if isinstance(t.meta, dict) else None
    if task not in (None, "text", "sudoku"):
        bad(f"meta.task {task!r} must be 'text' or 'sudoku'")
    if task == "sudoku" and N != 81:
        bad(f"a Sudoku trace has 81 positions, not {N}")


def import_trace(sess, file, overlay="none"):
    """Load a saved trace to replay it without the model (branch / fidelity need the model)."""
    sess = ensure(sess)
    trace = load_trace_file(file)
    task = trace.meta.get("task") or ("sudoku" if trace.initial_canvas.shape[1] == 81 and all(
        render.digit_of(trace, t) or t == trace.mask_id for t in trace.initial_canvas[0].tolist()) else "text")
    trace.meta = {**trace.meta, "task": task, "source": "imported", "session": sess.uid}
    new = Session(uid=sess.uid, model=trace.model, task=task, trace=trace, view=trace.num_steps - 1)
    try:
        new.config = DecodeConfig.from_dict(trace.config)
    except (ConfigError, TypeError):
        new.config = None
    new.note("info", f"Loaded a {trace.num_steps}-step {trace.config.get('policy')} trace of {trace.model!r} "
                     f"(replay; step through it with the slider).")
    return explore_outputs(new, overlay)


# --- small UI glue (no model compute) ---------------------------------------------------------------------
def examples() -> list[dict]:
    from boe_core.tasks.sudoku import load_examples

    try:
        return load_examples()
    except (OSError, ValueError):
        return []


def example_choices() -> list[str]:
    return [f"{e['name']} ({e.get('clues', '?')} clues)" for e in examples()]


def example_puzzle(choice: str) -> str:
    for e in examples():
        if choice and choice.startswith(e["name"] + " ") or choice == e["name"]:
            return e["puzzle"]
    raise ConfigError("example", choice, "unknown example")


def blanks(puzzle: str) -> int:
    from boe_core.tasks.sudoku import normalize_grid

    return sum(ch in "0." for ch in normalize_grid(puzzle or ""))


def preset_values(preset: str) -> dict:
    """Policy and knob values of a preset, for the UI fields."""
    policy, knobs = preset_overrides(preset)
    out = {"policy": policy}
    out.update({k: v for k, v in knobs.items()})
    return out


def default_inputs(model: str | None) -> dict:
    """Sensible first values for a model: Sudoku: the first example, one cell per step;
    text: a KJV opening, 24 tokens in 24 steps."""
    task = models.task_of(model) if model else "text"
    ex = examples()
    puzzle = ex[0]["puzzle"] if ex else "0" * 81
    steps = blanks(puzzle) if task == "sudoku" else 24
    return {"task": task, "prompt": "In the beginning God created", "gen_length": 24, "puzzle": puzzle,
            "steps": steps, "block_length": 0, "temperature": 0.0, "seed": 0, **preset_values("BoE default")}


__all__ = ["run", "step", "back", "select", "set_overlay", "reset", "play_tick", "branch", "compare_select",
           "fidelity", "export_trace", "import_trace", "load_trace_file", "check_trace", "Session", "PRESETS"]
