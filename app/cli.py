"""`python app.py [--host H] [--port P] [--model NAME_OR_PATH ...] [--device D] [--dtype T] ...`"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

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
    a = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch

    from boe_core import ConfigError

    from . import models
    from .style import CSS
    from .ui import _theme, build_demo

    if a.threads and a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.concurrency < 1:
        print("error: --concurrency must be >= 1", file=sys.stderr)
        return 2
    try:
        from boe_core.models import parse_device, parse_dtype

        parse_device(a.device)
        parse_dtype(a.dtype)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    models.configure(device=a.device, dtype=a.dtype, allow_remote_code=a.allow_remote_code, extra=a.model)
    for name in a.model:  # models named on the command line are loaded now, so mistakes show at once
        try:
            models.get_adapter(name)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    default = models.default_model()
    if default is None:
        print("warning: no model found (assets/models is empty and no --model given); "
              "only loading saved traces will work", file=sys.stderr)
    elif not a.no_preload and not models.is_loaded(default):
        threading.Thread(target=_preload, args=(default,), daemon=True).start()
    demo = build_demo(concurrency=a.concurrency)
    demo.queue(default_concurrency_limit=max(a.concurrency, 4))
    demo.launch(server_name=a.host, server_port=a.port, share=a.share, css=CSS, theme=_theme(),
                max_file_size="40mb", ssr_mode=False, footer_links=["api", "gradio"])
    return 0


def _preload(name):
    from . import models

    try:
        models.get_adapter(name)
    except Exception as e:  # shown again, clearly, on first use
        logging.getLogger("boe_explorer").warning("could not preload %s: %s", name, e)
