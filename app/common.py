"""Small pieces every handler module shares: the session, toasts, the trace vocabulary, the model
of a trace, and the step a request names."""
from __future__ import annotations

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
    """The adapter that made `trace`; UserError when this server does not offer it."""
    if trace.model not in models.model_choices():
        raise UserError(f"{what} needs the model {trace.model!r} that made this trace, which this server does not "
                        f"offer ({', '.join(models.model_choices()) or 'no models'}); the trace can only be replayed")
    return models.get_adapter(trace.model)


def trace_and_step(sess, at_step, nothing: str):
    """The session's trace and a computed step: `at_step`, or the selected one when None."""
    if sess.trace is None or not sess.trace.records:
        raise UserError(f"{nothing}: run (or load) a trace first")
    tr = sess.trace
    k = clamp_view(tr, sess.view) if at_step is None else as_int("at_step", at_step, minimum=0)
    if k >= tr.num_steps:
        raise ConfigError("at_step", k, f"must be a computed step in [0, {tr.num_steps})")
    return tr, k
