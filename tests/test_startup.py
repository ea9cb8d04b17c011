"""`python app.py` start-up (through app.cli.start, in this process, on a free port): the first page
is served while the default model is still loading, and the page says it is loading; Gradio's
localhost self-check failing does not stop the server."""
import inspect
import threading
import urllib.request

import gradio as gr
import pytest

from app import cli, models
from app.serve import SELF_CHECK_FLAG
from app_helpers import default_model_or_reason, free_port


@pytest.fixture()
def blocked_loader(monkeypatch):
    """Model loading that waits until the test releases it: (entered, release) events."""
    entered, release = threading.Event(), threading.Event()
    real = models.load_model

    def slow_load(*a, **k):
        entered.set()
        if not release.wait(timeout=120):
            raise RuntimeError("the test never released the loader")
        return real(*a, **k)

    monkeypatch.setattr(models, "load_model", slow_load)
    yield entered, release
    release.set()


def start(port):
    demo = cli.start(["--port", str(port), "--threads", "1"])
    assert demo is not None
    return demo


def get(url) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.status, r.read().decode("utf-8", "replace")


def test_first_page_is_served_while_the_model_loads(blocked_loader):
    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    entered, release = blocked_loader
    port = free_port()
    demo = start(port)
    try:
        status, _ = get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert entered.wait(timeout=120), "the default model is preloaded in the background"
        assert not models.is_loaded(name), "the page was served before the model finished loading"
        status, config = get(f"http://127.0.0.1:{port}/config")
        assert status == 200 and f"loading the model {name}" in config
        release.set()
        # the preload thread finishes once released (a wait, not a timing assertion)
        for t in [t for t in threading.enumerate() if t.name == "boe-preload"]:
            t.join(timeout=120)
        assert models.is_loaded(name)
    finally:
        release.set()
        demo.close()


def test_a_failing_localhost_self_check_does_not_stop_the_server(monkeypatch):
    assert SELF_CHECK_FLAG in inspect.signature(gr.Blocks.launch).parameters, \
        "app/serve.py relies on this Gradio launch() flag to skip the self-check"
    monkeypatch.setattr(gr.networking, "url_ok", lambda url: False)  # as when its HEAD requests time out
    port = free_port()
    demo = start(port)
    try:
        assert get(f"http://127.0.0.1:{port}/")[0] == 200
    finally:
        demo.close()


def test_bad_argument_exits_2_before_serving(capsys):
    assert cli.main(["--concurrency", "0"]) == 2
    assert "--concurrency must be >= 1" in capsys.readouterr().err
