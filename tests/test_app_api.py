"""End to end through gradio_client against a live explorer (started here on a free port, in a
server thread, and always closed): run, step, back, select, overlay, branch, fidelity, export,
import, and 10 concurrent sessions. Runs on the shipped default model ("sudoku", else "kjv")."""
import math
import threading

import pytest
import torch

from app.testing import default_model_or_reason, live_server

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

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
    return Client(url, verbose=False)


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


def test_ten_concurrent_sessions(server):
    url, name = server
    results, errors = {}, []

    def one(i):
        try:
            c = client(url)
            kw = small(name, seed=100 + i, temperature=0.7)
            final = c.predict(**kw, api_name="/run")[INFO]
            again = c.predict(api_name="/back")[INFO]
            results[i] = (final, again)
        except Exception as e:  # collected and reported below
            errors.append(f"session {i}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    assert len(results) == 10
    sessions = set()
    for i, (final, again) in results.items():
        assert final["done"] and final["num_steps"] == small(name)["steps"]
        assert final["seed"] == 100 + i, "a session saw another session's trace"
        assert again["seed"] == 100 + i and again["session"] == final["session"]
        sessions.add(final["session"])
    assert len(sessions) == 10


def test_lockin_map_fidelity_run_heatmap(server):
    url, name = server
    c = client(url)
    c.predict(**small(name), api_name="/run")
    n = small(name)["steps"]
    m = c.predict(policy="confidence", api_name="/lockin")[-1]
    assert m["status"] in ("done", "cancelled") and m["complete"] and m["policy"] == "confidence"
    assert [p["step"] for p in m["points"]] == list(range(n)) and 0 <= m["rollouts"] <= n
    assert all(p["distance"] >= 0 for p in m["points"])
    cmp = c.predict(at_step=1, api_name="/lockin_open")[-1]
    assert cmp["branched_at"] == 1 and cmp["policy_b"] == "confidence"
    default = c.predict(preset="confidence", api_name="/branch")[-1]  # no step: the first departure from confidence
    departs = next((i for i, p in enumerate(m["points"]) if p["rollout"]), None)
    assert default["branched_at"] == (departs if departs is not None else default["branched_at"])
    fr = c.predict(api_name="/fidelity_run")[-1]
    assert fr["status"] == "done" and fr["steps"] and fr["n_steps"] == n
    for key in ("spearman", "sign", "top1"):
        vals = [v for v in fr[key] if v is not None]
        assert vals and all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in vals)
    fig = c.predict(signal="entropy", api_name="/heatmap")
    assert fig is not None


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
