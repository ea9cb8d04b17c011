"""Helpers for the app's tests and benchmark: a live server on a free port, and the default model."""
from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_model_or_reason() -> tuple[str | None, str]:
    """The model the app tests run against ("sudoku" if shipped, else "kjv"), or why there is none."""
    from boe_core import shipped_models
    from boe_core.models import ASSETS_MODELS

    shipped = shipped_models()
    for name in ("sudoku", "kjv"):
        if name in shipped:
            return name, ""
    return None, (f"no shipped model in {ASSETS_MODELS} (expected 'sudoku' or 'kjv', each a folder with "
                  f"config.json); train them with scripts/train_sudoku.py / scripts/train_kjv.py, or point "
                  f"BOE_MODELS_DIR at a folder that has them")


@contextmanager
def live_server(concurrency: int = 2, timeout: float = 180.0):
    """Launch the explorer in this process (a server thread) on a free port; yields its URL and
    always closes it."""
    import urllib.request

    from . import models
    from .serve import launch
    from .ui import build_demo

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
