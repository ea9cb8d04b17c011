"""Trace files: export a session's trace (JSON to replay, parquet to analyse) and load a JSON
export back to replay it without the model."""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from boe_core import ConfigError, DecodeConfig, Trace
from boe_core.tasks.views import view_for_trace, views

from boe_core.signals import declared
from .common import ensure
from .explore import explore_outputs
from .session import Session, UserError

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
EXPORT_DIR = Path(tempfile.mkdtemp(prefix="boe-explorer-"))
_EXPORT_KEEP = 200


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
    tr.to_json(path) if fmt == "json" else tr.to_parquet(path)
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
              "score", "chosen", "remasked")
_KINDS = {"canvas_before": "i", "canvas_after": "i", "proposals": "i", "topk_ids": "i", "masked": "b", "eligible": "b",
          "chosen": "b", "remasked": "b"}


def _check_record(j, r, B, N, bad):
    signals = r.signals if isinstance(getattr(r, "signals", None), dict) else {}
    for f in _FIELDS_2D + tuple(signals):
        a = signals[f] if f in signals else getattr(r, f)
        if not isinstance(a, np.ndarray) or a.shape != (B, N):
            bad(f"step {j}: field {f!r} has shape {getattr(a, 'shape', None)}, expected {(B, N)}")
    for f in ("topk_ids", "topk_probs"):
        a = getattr(r, f)
        if a.ndim != 3 or a.shape[:2] != (B, N):
            bad(f"step {j}: field {f!r} has shape {a.shape}, expected {(B, N)} + (k,)")
    kinds = {**_KINDS, **{n: "b" for n in signals if declared(n).kind == "bool"}}
    for f, kind in kinds.items():
        a = signals[f] if f in signals else getattr(r, f)
        if a.dtype.kind != kind:
            bad(f"step {j}: field {f!r} has dtype {a.dtype}")
    if r.fallback.shape != (B,):
        bad(f"step {j}: field 'fallback' has shape {r.fallback.shape}, expected {(B,)}")
    for f in ("n_forward", "n_backward"):
        if not isinstance(getattr(r, f), int):
            bad(f"step {j}: {f} must be an integer")
    if not isinstance(r.wall_time, (int, float)):
        bad(f"step {j}: wall_time must be a number")


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
        _check_record(j, r, B, N, bad)
    task = t.meta.get("task") if isinstance(t.meta, dict) else None
    if task is not None and task not in views():
        bad(f"meta.task {task!r} must be one of {', '.join(sorted(views()))}")
    problem = view_for_trace(t).trace_problem(t)
    if problem:
        bad(problem)


def import_trace(sess, file, overlay="none"):
    """Load a saved trace to replay it without the model (branch / fidelity need the model)."""
    sess = ensure(sess)
    trace = load_trace_file(file)
    task = view_for_trace(trace).name
    trace.meta = {**trace.meta, "task": task, "source": "imported", "session": sess.uid}
    new = Session(uid=sess.uid, model=trace.model, task=task, trace=trace, shown_step=trace.num_steps - 1)
    try:
        new.config = DecodeConfig.from_dict(trace.config)
    except (ConfigError, TypeError):
        new.config = None
    new.note("info", f"Loaded a {trace.num_steps}-step {trace.config.get('policy')} trace of {trace.model!r} "
                     f"(replay; step through it with the slider).")
    return explore_outputs(new, overlay)
