"""`guard`: every event handler of the explorer goes through it, so a user mistake becomes a clear
message (a toast in the page, an error for API clients) and never a traceback."""
from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from boe_core import ConfigError

from .session import UserError

log = logging.getLogger("boe_explorer")


def guard(fn):
    """Turn user mistakes into a clear `gr.Error` and never leak a traceback; unexpected failures
    are logged server-side."""
    def convert(e):
        if isinstance(e, gr.Error):
            return e
        if isinstance(e, (ConfigError, UserError)):
            return gr.Error(str(e), title="Invalid input", print_exception=False)
        log.exception("handler %s failed", getattr(fn, "__name__", fn))
        return gr.Error(f"Something went wrong ({type(e).__name__}: {e}). The server is still running.",
                        title="Error", print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*a, **k):
            try:
                yield from fn(*a, **k)
            except Exception as e:
                raise convert(e) from None
        return gen

    @functools.wraps(fn)
    def call(*a, **k):
        try:
            return fn(*a, **k)
        except Exception as e:
            raise convert(e) from None
    return call
