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
import os
import socket
import time
from contextlib import contextmanager

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(concurrency: int = 2, timeout: float = 180.0):
    """Launch the explorer in this process (a server thread) on a free port; yields its URL and
    always closes it (the tests, the benchmarks and the screenshot tools use it)."""
    import urllib.request

    from . import models
    from .ui import build_demo

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    models.configure()
    demo = build_demo(concurrency=concurrency)
    demo.queue(default_concurrency_limit=max(concurrency, 4))
    port = free_port()
    launch(demo, port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=timeout).read(64)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"the explorer did not answer on {url} within {timeout:.0f}s")
                time.sleep(0.2)
        yield url
    finally:
        demo.close()
