"""Start-up of `python app.py`: seconds to the first page (HTTP 200 on /) and to the default model
loaded (the app logs "model NAME loaded"), on the machine as it is and beside a CPU load.

    python benchmarks/bench_startup.py                  # 3 starts, no added load
    python benchmarks/bench_startup.py --load-threads 2 # 3 starts beside a 2-thread torch matmul loop
    python benchmarks/bench_startup.py --page-only      # the first page only (an app that does not log its model)

Each start is a fresh process on a free port, polled every 0.1 s (each GET may wait up to 60 s),
and stopped once the model is loaded. A start that exits before serving is reported, with the end
of its log. The load job runs for the whole measurement and is stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD_JOB = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
a = torch.randn(1024, 1024)
while True:
    a = torch.tanh(a @ a.T / 32)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(timeout: float, page_only: bool = False) -> tuple[float | None, float | None, str]:
    """(seconds to the first page, seconds to the model loaded, why it failed or "")."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        first = loaded = None
        why = ""
        try:
            while time.perf_counter() - t0 < timeout:
                if proc.poll() is not None:
                    log.seek(0)
                    why = f"exited with {proc.returncode}: ...{log.read()[-400:]}"
                    break
                if first is None:
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read(64)
                        first = time.perf_counter() - t0
                    except OSError:
                        pass
                if loaded is None and not page_only:
                    log.seek(0)
                    if " loaded in " in log.read():
                        loaded = time.perf_counter() - t0
                if first is not None and (loaded is not None or page_only):
                    break
                time.sleep(0.1)
            else:
                why = f"not ready within {timeout:.0f} s"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return first, loaded, why


def fmt(xs: list[float]) -> str:
    return (f"median {statistics.median(xs):.1f} s (min {min(xs):.1f}, max {max(xs):.1f})" if xs else "n/a")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--load-threads", type=int, default=0, help="run a torch matmul loop with this many threads")
    ap.add_argument("--timeout", type=float, default=300.0, help="give up on a start after this many seconds")
    ap.add_argument("--page-only", action="store_true", help="stop at the first page (do not wait for the model)")
    a = ap.parse_args()
    load = None
    if a.load_threads > 0:
        load = subprocess.Popen([sys.executable, "-c", LOAD_JOB, str(a.load_threads)],
                                env={**os.environ, "OMP_NUM_THREADS": str(a.load_threads)})
        time.sleep(2.0)  # let it reach its loop
    try:
        with open("/proc/loadavg") as f:
            print(f"load average before: {f.read().split()[:3]}, cores: {os.cpu_count()}, "
                  f"added load: {a.load_threads} thread(s)")
        firsts, loads, failures = [], [], []
        for i in range(a.repeats):
            first, loaded, why = one_start(a.timeout, a.page_only)
            print(f"start {i + 1}: first page {first if first is None else round(first, 1)} s, "
                  f"model loaded {loaded if loaded is None else round(loaded, 1)} s{'  FAILED: ' + why if why else ''}",
                  flush=True)
            if first is not None:
                firsts.append(first)
            if loaded is not None:
                loads.append(loaded)
            if why:
                failures.append(why)
        print(f"first page: {fmt(firsts)}; model loaded: {fmt(loads)}; failed starts: {len(failures)} of {a.repeats}")
    finally:
        if load is not None:
            load.terminate()
            load.wait()


if __name__ == "__main__":
    main()
