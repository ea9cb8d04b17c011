"""Small pieces every handler module shares: the session, toasts, the trace vocabulary, the model
of a trace, and the step a request names."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from boe_core import ConfigError

from . import models
from .canvas import clamp_view
from .session import Session, UserError, as_int

PLOT_INTERVAL_S = 1.0  # while streaming, heavy plots refresh at most this often (always on the last step)


def ensure(sess) -> Session:
    return sess if isinstance(sess, Session) else Session()


def notify(kind: str, text: str) -> None:
    """A toast in the browser (no-op outside a request)."""
    try:
        import warnings

        import gradio as gr

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (gr.Warning if kind in ("warn", "error") else gr.Info)(text)
    except Exception:  # pragma: no cover - best effort
        pass


def add_vocab(adapter, trace, arrays) -> None:
    """Record the token strings of every id in `arrays` in the trace (it renders without a model)."""
    ids = set()
    for a in arrays:
        ids.update(int(i) for i in np.unique(a) if i >= 0)
    for i in ids - set(trace.id_to_token):
        trace.id_to_token[i] = adapter.id_to_token(i)


def model_for(trace, what: str):
    """The adapter that made `trace`; UserError when this server does not offer it. A trace names
    its model by the adapter's name, which for a model given as a folder is the folder's last part
    (`load_model("/x/my-sudoku")` writes "my-sudoku"), so a name the server does not list is matched
    against the folders it offers; the first whose model could have made the trace is used."""
    choices = models.model_choices()
    name = str(trace.model)
    if name in choices:
        adapter = models.get_adapter(name)
        check_made_by(adapter, trace, what)
        return adapter
    folders = [c for c in choices if c != name and Path(c).name == name]
    refusal = None
    for choice in folders:
        adapter = models.get_adapter(choice)
        try:
            check_made_by(adapter, trace, what)
            return adapter
        except UserError as e:  # another folder of the same name: try the next
            refusal = e
    if refusal is not None:
        raise refusal
    raise UserError(f"{what} needs the model {trace.model!r} that made this trace, which this server does not "
                    f"offer ({', '.join(choices) or 'no models'}); the trace can only be replayed")


def check_made_by(adapter, trace, what: str) -> None:
    """UserError when `trace` cannot have been made by `adapter` (a file renamed to another model:
    another mask id, tokens the model spells differently, a canvas longer than it takes)."""
    name = trace.model
    if int(trace.mask_id) != int(adapter.mask_id):
        raise UserError(f"{what}: this trace was made by another model than {name!r} (mask id {trace.mask_id}, "
                        f"the model's is {adapter.mask_id}); the trace can only be replayed")
    limit = getattr(adapter, "max_length", None)
    if limit and trace.initial_canvas.shape[1] > limit:
        raise UserError(f"{what}: the trace's canvas has {trace.initial_canvas.shape[1]} positions, more than the "
                        f"{limit} that {name!r} takes; the trace can only be replayed")
    for i, tok in list(trace.id_to_token.items())[:64]:
        try:
            ok = adapter.id_to_token(int(i)) == tok
        except Exception:
            ok = False
        if not ok:
            raise UserError(f"{what}: this trace was made by another model than {name!r} (token id {i} is {tok!r} in "
                            f"the trace); the trace can only be replayed")


def trace_and_step(sess, at_step, nothing: str):
    """The session's trace and a computed step: `at_step`, or the selected one when None."""
    if sess.trace is None or not sess.trace.records:
        raise UserError(f"{nothing}: run (or load) a trace first")
    tr = sess.trace
    k = clamp_view(tr, sess.shown_step) if at_step is None else as_int("at_step", at_step, minimum=0)
    if k >= tr.num_steps:
        raise ConfigError("at_step", k, f"must be a computed step in [0, {tr.num_steps})")
    return tr, k


# --- a finished run, as the Cascade tab and the repair panel read it ------------------------------
def finished_trace(sess):
    """The session's run, refused unless it is finished (a counterfactual or a repair decodes the
    rest of a finished run)."""
    tr, _ = trace_and_step(sess, 0, "no run to examine")
    if not tr.finished:
        raise UserError("the run is not finished: run it to the end first (a counterfactual decodes the rest of a "
                        "finished run)")
    return tr


def task_view(sess):
    from boe_core.tasks.views import get_view

    return get_view(sess.task)


def token_shower(tr):
    """token id -> its display text in the trace's vocabulary."""
    from boe_core.tasks.token_text import is_bytelevel, token_text

    bl = is_bytelevel(tr.id_to_token)
    return lambda t: token_text(tr.id_to_token.get(int(t), f"<{int(t)}>"), bl)


def cell_name(view, tr, pos: int) -> str:
    """A position as the view names it: r3c7 on a grid, the index on text."""
    if view.layout == "grid":
        cols = view.grid[1]
        return f"r{pos // cols + 1}c{pos % cols + 1}"
    return str(pos)
