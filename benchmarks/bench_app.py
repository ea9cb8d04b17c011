"""Explorer benchmarks (CPU): server-side time per step, start-up time to the first page, and the
server's memory (RSS) after many generations.

    python benchmarks/bench_app.py                       # default model, 100 generations
    python benchmarks/bench_app.py --generations 20 --model kjv
    python benchmarks/bench_app.py --lockin-only          # the lock-in map's time on the default example

1. time per step: the Run handler in-process (boe_core step + rendering the canvas, status and
   step data; the heavy plots are throttled to one refresh per second), per policy;
2. `python app.py` -> first page: a fresh server process, polling GET / until it answers;
3. RSS: that same server after N small generations through gradio_client (4 sessions in parallel);
4. the lock-in map of a BoE run of the default example, handed to confidence at every step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def view_of(model: str | None):
    """The task view of a model (the app's default model when None): it says which inputs apply."""
    from app import models
    from boe_core.tasks.views import get_view

    return get_view(models.task_of(model or models.default_model()))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def inputs_for(model: str, steps: int, policy: str) -> dict:
    from app import handlers as H
    from boe_core.presets import preset_settings

    d = H.default_inputs(model)
    v = dict(model=model, prompt=d["prompt"], gen_length=steps, puzzle=d["puzzle"], policy=policy, steps=steps,
             block_length=0, temperature=0.0, seed=0,
             settings={**preset_settings("BoE default")[1], "r": 0} if policy == "boe" else {})
    return v


def bench_steps(model: str, steps: int, repeats: int) -> None:
    import torch

    from app import handlers as H, models

    torch.set_num_threads(1)
    models.get_adapter(model)
    print(f"== server-side time per step: model={model}, {steps} steps, torch threads=1")
    for policy in ("confidence", "boe"):
        list(H.run(None, **inputs_for(model, steps, policy)))  # warm-up
        per_update, compute = [], []
        for _ in range(repeats):
            gen = H.run(None, **inputs_for(model, steps, policy))
            out = next(gen)  # the planned canvas
            t = time.perf_counter()
            for out in gen:
                now = time.perf_counter()
                per_update.append(now - t)
                t = now
            compute += [r.wall_time for r in out[0].trace.records]
        print(f"  {policy:<10} step compute (boe_core) median {1000 * statistics.median(compute):7.1f} ms | "
              f"handler per streamed step (compute + render) median {1000 * statistics.median(per_update):7.1f} ms, "
              f"p90 {1000 * sorted(per_update)[int(0.9 * len(per_update))]:7.1f} ms")


def bench_lockin(model: str, steps: int, repeats: int) -> None:
    """The lock-in map's time on the default example: a BoE-default run, handed to confidence at
    every step (boe_core.lockin.lockin_map, as the Lock-in tab computes it), torch threads = 1."""
    import torch

    from app import handlers as H, models
    from boe_core.lockin import lockin_map

    torch.set_num_threads(1)
    adapter = models.get_adapter(model)
    run = list(H.run(None, **inputs_for(model, steps, "boe")))[-1][0].trace
    print(f"== lock-in map: model={model}, BoE default run of {run.num_steps} steps, handed to confidence, "
          f"torch threads=1")
    times = []
    for _ in range(repeats):
        m = lockin_map(adapter, run, policy="confidence")
        times.append(m.seconds)
        print(f"  {m.seconds:6.2f} s, {m.rollouts} rollouts of at most {run.num_steps}, {len(m.points)} points")
    print(f"  median {statistics.median(times):.2f} s over {repeats} repeats")


def bench_server(model: str | None, generations: int, steps: int) -> None:
    from gradio_client import Client

    from app.serve import free_port

    port = free_port()
    cmd = [sys.executable, "app.py", "--port", str(port)] + (["--model", model] if model else [])
    print(f"== start-up: {' '.join(cmd[1:])}")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                body = urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 180:
                    raise SystemExit("the server did not start")
                time.sleep(0.05)
        first_page = time.perf_counter() - t0
        print(f"  time from `python app.py` to the first page: {first_page:.2f} s ({len(body)} bytes)")
        c = Client(url, verbose=False)
        kw = {"steps": steps, **({"gen_length": steps} if "gen_length" in view_of(model).inputs else {})}
        c.predict(**kw, api_name="/run")
        rss0 = rss_mib(proc.pid)
        print(f"  RSS after 1 generation: {rss0:.0f} MiB")
        done, errors, lock = [0], [], threading.Lock()

        def worker(n):
            cl = Client(url, verbose=False)
            for _ in range(n):
                try:
                    cl.predict(**kw, api_name="/run")
                except Exception as e:  # counted
                    errors.append(e)
                with lock:
                    done[0] += 1

        t = time.perf_counter()
        per = [generations // 4 + (1 if i < generations % 4 else 0) for i in range(4)]
        ths = [threading.Thread(target=worker, args=(n,)) for n in per]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        dt = time.perf_counter() - t
        rss1 = rss_mib(proc.pid)
        print(f"  {done[0]} generations ({steps} steps each, 4 sessions in parallel) in {dt:.1f} s, "
              f"{len(errors)} errors")
        print(f"  RSS after {done[0] + 1} generations: {rss1:.0f} MiB (+{rss1 - rss0:.0f} MiB)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="default: the app's default (sudoku, else kjv)")
    ap.add_argument("--steps", type=int, default=None,
                    help="steps per generation (default: one token per step for the view's default input)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--gen-steps", type=int, default=6, help="steps of each generation in the RSS run")
    ap.add_argument("--skip-server", action="store_true")
    ap.add_argument("--lockin-only", action="store_true", help="only time the lock-in map on the default example")
    a = ap.parse_args()
    from app import models

    model = a.model or models.default_model()
    if model is None:
        raise SystemExit("no model: ship assets/models/sudoku or kjv, or pass --model")
    view = view_of(model)
    steps = a.steps or view.default_steps(view.default_values()) or 24  # the task view's one token per step
    if a.lockin_only:
        bench_lockin(model, steps, a.repeats)
        return
    bench_steps(model, steps, a.repeats)
    bench_lockin(model, steps, a.repeats)
    if not a.skip_server:
        bench_server(a.model, a.generations, a.gen_steps)


if __name__ == "__main__":
    main()
