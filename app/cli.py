"""`python app.py [--host H] [--port P] [--model NAME_OR_PATH ...] [--device D] [--dtype T] ...`"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python app.py", description="BoE Explorer: watch and steer a masked "
                                "diffusion model step by step (a local Gradio app).")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--model", action="append", default=[], metavar="NAME_OR_PATH",
                   help="extra model to offer (repeatable): a shipped name, a local folder or a Hugging Face id; "
                        "the first one becomes the default")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: the model's)")
    p.add_argument("--allow-remote-code", action="store_true",
                   help="allow models that ship their own modelling code (LLaDA, Dream)")
    p.add_argument("--share", action="store_true", help="create a public Gradio share link (off by default)")
    p.add_argument("--concurrency", type=int, default=2, help="model computations run at once (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per computation (default 1)")
    p.add_argument("--no-preload", action="store_true", help="load the default model on first use only")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Serve the explorer until interrupted: the first page at once, the default model loading in
    the background meanwhile (its status line says so). 2 for a bad argument."""
    demo = start(argv)
    if demo is None:
        return 2
    demo.block_thread()
    return 0


def start(argv=None):
    """Check the arguments, build the page and start serving it (without blocking); then start
    loading the default model in a background thread. Returns the running demo, or None after
    printing why an argument is wrong."""
    a = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch

    from boe_core import ConfigError

    from . import models
    from .serve import launch
    from .ui import build_demo

    if a.threads and a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.concurrency < 1:
        print("error: --concurrency must be >= 1", file=sys.stderr)
        return None
    try:
        from boe_core.models import parse_device, parse_dtype

        parse_device(a.device)
        parse_dtype(a.dtype)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    models.configure(device=a.device, dtype=a.dtype, allow_remote_code=a.allow_remote_code, extra=a.model)
    for name in a.model:  # models named on the command line are loaded now, so mistakes show at once
        try:
            models.get_adapter(name)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return None
    default = models.default_model()
    if default is None:
        print("warning: no model found (assets/models is empty and no --model given); "
              "only loading saved traces will work", file=sys.stderr)
    demo = build_demo(concurrency=a.concurrency)
    demo.queue(default_concurrency_limit=max(a.concurrency, 4))
    launch(demo, a.host, a.port, share=a.share, footer_links=["api", "gradio"])
    # only now, with the page served: the model work (a large model can take minutes to load)
    if default is not None and not a.no_preload and not models.is_loaded(default):
        threading.Thread(target=_preload, args=(default,), name="boe-preload", daemon=True).start()
    return demo


def _preload(name):
    from . import models

    log = logging.getLogger("boe_explorer")
    t0 = time.perf_counter()
    try:
        models.get_adapter(name)
    except Exception as e:  # shown again, clearly, on first use
        log.warning("could not preload %s: %s", name, e)
        return
    log.info("model %s loaded in %.1f s", name, time.perf_counter() - t0)
