"""Launching the explorer's server: one place for the `launch()` options that `python app.py`, the
tests and the benchmarks share.

Gradio's `launch()` ends with a self-check: up to five HEAD requests to the page, each with a
3-second timeout, and it raises "When localhost is not accessible, a shareable link must be
created" when they fail. On a loaded machine the first one can exceed 3 s while the server is
fine, and the app then exits. The explorer is a local app whose server has already answered
Gradio's own start-up request by then, so the check is skipped (`_frontend=False`: in the Gradio
we pin, that flag guards this check and nothing else; tests/test_startup.py checks both).
"""
from __future__ import annotations

import inspect

import gradio as gr

from .style import CSS

SELF_CHECK_FLAG = "_frontend"


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, **options) -> gr.Blocks:
    """Start serving `demo` (already queued) and return it without blocking; the caller blocks
    with `demo.block_thread()` or closes it with `demo.close()`."""
    from .ui import _theme

    if SELF_CHECK_FLAG not in inspect.signature(gr.Blocks.launch).parameters:
        raise RuntimeError(f"this Gradio ({gr.__version__}) has no launch({SELF_CHECK_FLAG}=...) to skip its "
                           f"localhost self-check; see app/serve.py")
    options.setdefault("max_file_size", "40mb")
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, css=CSS, theme=_theme(),
                ssr_mode=False, **{SELF_CHECK_FLAG: False}, **options)
    return demo
