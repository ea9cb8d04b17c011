"""End to end through gradio_client against a live explorer (started here on a free port, in a
server thread, and always closed): run, step, back, select, overlay, branch, fidelity, export,
import, and 10 concurrent sessions. Runs on the shipped default model ("sudoku", else "kjv")."""
import json
import math
import threading
import time

import pytest
import torch

from app_helpers import default_model_or_reason, live_server

gradio_client = pytest.importorskip("gradio_client")
import httpx  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402

pytestmark = pytest.mark.slow  # a live server, and 10 sessions at once

STEPS = 6
INFO = 7  # index of the step-data JSON among the Explore outputs


@pytest.fixture(scope="module")
def server():
    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    torch.set_num_threads(1)
    with live_server(concurrency=3) as url:
        yield url, name


def small(name, **over):
    """Small generations: Sudoku's first example in 6 steps, or 16 KJV tokens in 8 steps (enough
    masks for BoE to have probes beside its candidates)."""
    kw = {"model": name, "steps": STEPS if name == "sudoku" else 8}
    if name != "sudoku":
        kw.update(prompt="And God said", gen_length=16)
    kw.update(over)
    return kw


def client(url):
    """A client that waits as a browser would: httpx's default 5 s read timeout applies to every
    plain request (the config, joining the queue), and a loaded server can take longer to answer
    one while it computes; 600 s is far beyond any wait here."""
    return Client(url, verbose=False, httpx_kwargs={"timeout": httpx.Timeout(600.0, connect=60.0)})


def test_run_streams_every_step(server):
    url, name = server
    c = client(url)
    job = c.submit(**small(name), api_name="/run")
    final = job.result(timeout=180)
    outs = job.outputs()
    n = small(name)["steps"]
    assert len(outs) >= n + 1, "one update per step (plus the planned canvas)"
    info = final[INFO]
    assert info["done"] and info["num_steps"] == n and info["step"] == n - 1
    steps_seen = [o[INFO].get("step") for o in outs]
    assert steps_seen[0] is None and steps_seen[1:n + 1] == list(range(n))
    assert "boe-canvas" in final[0] and "step" in final[1]
    assert final[INFO] is info


def test_step_back_select_overlay(server):
    url, name = server
    c = client(url)
    assert c.predict(**small(name), api_name="/step")[INFO]["step"] == 0
    assert c.predict(**small(name), api_name="/step")[INFO]["step"] == 1
    assert c.predict(api_name="/back")[INFO]["step"] == 0
    out = c.predict(at_step=1, api_name="/select")
    assert out[INFO]["step"] == 1
    html = c.predict(overlay="entropy", api_name="/overlay")
    assert "background:#" in html
    out = c.predict(**small(name), api_name="/reset")
    assert out[INFO]["num_steps"] == 0


def test_branch_fidelity_export_import(server, tmp_path):
    url, name = server
    c = client(url)
    c.predict(**small(name), api_name="/run")
    cmp = c.predict(preset="confidence", at_step=1, api_name="/branch")[-1]
    n = small(name)["steps"]
    assert cmp["branched_at"] == 1 and cmp["policy_a"] == "boe" and cmp["policy_b"] == "confidence"
    assert cmp["steps_b"] == n
    assert cmp["first_divergent_step"] is None or cmp["first_divergent_step"] >= 1
    fid = c.predict(at_step=0, api_name="/fidelity")[-1]
    assert fid["step"] == 0 and len(fid["tis"]) == len(fid["delta"]) == len(fid["positions"])
    assert len(fid["tis"]) >= 2, "BoE has at least two candidates at step 0"
    assert all(math.isfinite(x) for x in fid["tis"] + fid["delta"])
    assert fid["spearman"] is not None and -1.0 <= fid["spearman"] <= 1.0

    path = c.predict(fmt="json", api_name="/export")
    from boe_core import Trace

    tr = Trace.from_json(open(path).read())
    assert tr.num_steps == n and tr.config["policy"] == "boe"
    pq = c.predict(fmt="parquet", api_name="/export")
    import pandas as pd

    df = pd.read_parquet(pq)
    assert set(df["step"]) == set(range(n))

    other = client(url)
    out = other.predict(file=handle_file(path), api_name="/import")
    info = out[INFO]
    assert info["source"] == "imported" and info["num_steps"] == n and info["step"] == n - 1
    assert other.predict(api_name="/back")[INFO]["step"] == n - 2
    assert other.predict(**small(name), api_name="/step")[INFO]["step"] == n - 1  # replay: no new run


PROMPTS = ("And God said", "In the beginning", "And the LORD spake", "Blessed are the")


def own_inputs(name, i):
    """Session i's own inputs: its own seed and step count and, on Sudoku, its own puzzle (on
    text, its own prompt)."""
    kw = small(name, seed=100 + i, temperature=0.7)
    kw["steps"] += i % 3
    if name == "sudoku":
        from boe_core.tasks.sudoku import load_examples

        examples = load_examples()
        kw["puzzle"] = examples[i % len(examples)]["puzzle"]
    else:
        kw["prompt"] = PROMPTS[i % len(PROMPTS)]
    return kw


def test_ten_concurrent_sessions(server):
    """Ten users at once, each through the queue (the server computes 3 at a time): every one gets
    the result of its own inputs, the same as when it runs alone."""
    url, name = server
    results, errors = {}, []

    def one(i):
        try:
            c = client(url)
            final = c.submit(**own_inputs(name, i), api_name="/run").result()[INFO]
            again = c.predict(api_name="/back")[INFO]
            results[i] = (final, again)
        except Exception as e:  # collected and reported below
            errors.append(f"session {i}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(10)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 900  # a bound against a hang, far above the normal wait
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not errors, errors
    assert sorted(results) == list(range(10)), f"sessions not finished: {sorted(set(range(10)) - set(results))}"
    alone = client(url)  # each input once more, one at a time: what it implies
    for i, (final, again) in sorted(results.items()):
        kw = own_inputs(name, i)
        assert final["done"] and final["num_steps"] == kw["steps"], f"session {i} got another run's length"
        assert final["seed"] == kw["seed"], f"session {i} saw another session's trace"
        assert again["step"] == kw["steps"] - 2 and again["session"] == final["session"]
        if name == "sudoku":
            clues = {p: ch for p, ch in enumerate(kw["puzzle"]) if ch not in "0."}
            assert all(final["canvas"][p] == ch for p, ch in clues.items()), f"session {i}: not its own puzzle"
        else:
            assert kw["prompt"] in final["canvas"], f"session {i}: not its own prompt"
        expected = alone.predict(**kw, api_name="/run")[INFO]
        assert final["canvas"] == expected["canvas"], f"session {i}: differs from the same inputs run alone"
    assert len({final["session"] for final, _ in results.values()}) == 10
    assert len({final["canvas"] for final, _ in results.values()}) > 1


def test_lockin_map_fidelity_run_heatmap(server):
    url, name = server
    c = client(url)
    run = c.submit(**small(name), api_name="/run")
    run.result()
    per_step = [o[INFO] for o in run.outputs() if o[INFO].get("step") is not None]
    n = small(name)["steps"]
    assert [s["step"] for s in per_step] == list(range(n))
    m = c.predict(policy="confidence", api_name="/lockin")[-1]
    assert m["status"] in ("done", "cancelled") and m["complete"] and m["policy"] == "confidence"
    assert [p["step"] for p in m["points"]] == list(range(n)) and 0 <= m["rollouts"] <= n
    assert all(p["distance"] >= 0 for p in m["points"])
    cmp = c.predict(at_step=1, api_name="/lockin_open")[-1]
    assert cmp["branched_at"] == 1 and cmp["policy_b"] == "confidence"
    default = c.predict(preset="confidence", api_name="/branch")[-1]  # no step: the first departure from confidence
    # the first step where the run's commits differ from confidence's pick (its own step data);
    # when there is none, the branch starts at the selected step (the last, after a run)
    departs = next((s["step"] for s in per_step if not s["agrees_with_confidence"]), None)
    assert next((p["step"] for p in m["points"] if p["rollout"]), None) == departs, \
        "the lock-in map rolls out exactly where the run departs from confidence"
    assert default["branched_at"] == (n - 1 if departs is None else departs)
    fr = c.predict(api_name="/fidelity_run")[-1]
    assert fr["status"] == "done" and fr["steps"] and fr["n_steps"] == n
    # the endpoint serves the core's measurement of this run (its values are tested in test_lockin*)
    from app.fidelity_run import run_json
    from boe_core import Trace, load_model
    from boe_core.fidelity import measure_trace

    tr = Trace.from_json(open(c.predict(fmt="json", api_name="/export")).read())
    want = run_json(measure_trace(load_model(name), tr, rows=[0]))
    for key in ("steps", "n_candidates", "spearman", "sign", "top1"):
        assert fr[key] == want[key], key
    fig = c.predict(signal="entropy", api_name="/heatmap")
    assert fig["type"] == "plotly"
    plot = json.loads(fig["plot"])
    heat, commits = plot["data"][0], plot["data"][1]
    assert "position × step" in plot["layout"]["title"]["text"]
    assert len(heat["z"]) == n, "one row per step"
    values = [v for row in heat["z"] for v in row if v is not None]
    assert values and all(math.isfinite(v) and v >= 0 for v in values), "entropies are finite and >= 0"
    assert len(plotly_array(commits["x"])) == sum(len(s["commits"]) for s in per_step), "one marker per commit"


def test_lockin_job_can_be_cancelled_by_id(server):
    url, name = server
    if name != "sudoku":
        pytest.skip("needs a run long enough to cancel (the Sudoku default)")
    c = client(url)
    c.predict(model=name, api_name="/run")  # the default example, every step (about 45 BoE steps)
    job = c.submit(policy="confidence", api_name="/lockin")
    job_id = None
    for out in job:
        if out[-1].get("status") == "running":
            job_id = out[-1]["job_id"]
            break
    assert job_id, "the map finished before its first progress update"
    assert client(url).predict(job_id=job_id, api_name="/lockin_cancel") == {"cancelled": [job_id]}
    final = job.result(timeout=120)[-1]
    assert final["status"] == "cancelled" and final["complete"] is False
    again = c.predict(policy="confidence", api_name="/lockin")[-1]  # not cached: computed afresh
    assert again["cached"] is False and again["complete"]


def plotly_array(v) -> list:
    """A Plotly JSON array: a list, or {"dtype", "bdata"} (base64 of the raw values)."""
    if isinstance(v, list):
        return v
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
