"""Measure where ActiveQueryAttention starts to pay off on this device; write kernels/crossover.json.

For each (L, D) it times forward + backward of dense SDPA and of AQA (auto backend: Triton on
CUDA, the PyTorch reference on CPU) over a grid of active fractions rho, and records rho_max:
the largest rho at which AQA is still faster (linear interpolation between the last win and
the first loss; 0 if it never wins). kernels.aqa_worth_it reads the table.

    python benchmarks/bench_crossover.py                     # CPU entry, default grid
    python benchmarks/bench_crossover.py --device cuda --dtype bfloat16 --B 4 --H 32
    python benchmarks/bench_crossover.py --out /tmp/x.json   # write elsewhere
Timing is the median of --repeats (CUDA: events around the calls after a warm-up).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from kernels import active_query_attention
from kernels.crossover import device_key, table_path, write_entry

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_fwd_bwd(fn, q, k, v, do, repeats, warmup=2):
    """Median seconds of one forward + backward of fn(q, k, v)."""
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    times = []
    for i in range(warmup + repeats):
        _sync(q.device)
        t0 = time.perf_counter()
        out = fn(*leaves)
        torch.autograd.grad(out, leaves, do)
        _sync(q.device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def random_active(B, L, rho, device, gen):
    n = max(1, round(rho * L))
    active = torch.zeros(B, L, dtype=torch.bool)
    for b in range(B):
        active[b, torch.randperm(L, generator=gen)[:n]] = True
    return active.to(device)


def rho_max(rhos, speedups):
    """Largest rho with speed-up > 1, interpolated between the last win and the first loss."""
    best = 0.0
    for (r0, s0), (r1, s1) in zip(zip(rhos, speedups), list(zip(rhos, speedups))[1:] + [(None, None)]):
        if s0 <= 1.0:
            break
        best = r0
        if r1 is not None and s1 <= 1.0:
            best = r0 + (r1 - r0) * (s0 - 1.0) / (s0 - s1)
            break
    return round(best, 4)


def measure(device, dtype, B, H, Ls, Ds, rhos, repeats, log=print):
    gen = torch.Generator().manual_seed(0)
    points, rows = [], []
    for D in Ds:
        for L in Ls:
            q, k, v, do = (torch.randn(B, H, L, D, generator=gen).to(device, dtype) for _ in range(4))
            t_dense = time_fwd_bwd(lambda q, k, v: active_query_attention(q, k, v), q, k, v, do, repeats)
            speedups = []
            for rho in rhos:
                active = random_active(B, L, rho, device, gen)
                n = int(active.sum(1).max())
                t_aqa = time_fwd_bwd(lambda q, k, v: active_query_attention(q, k, v, active, n_active=n),
                                     q, k, v, do, repeats)
                speedups.append(t_dense / t_aqa)
                rows.append(dict(L=L, D=D, rho=rho, dense_ms=t_dense * 1e3, aqa_ms=t_aqa * 1e3,
                                 speedup=t_dense / t_aqa))
                log(f"| {L} | {D} | {rho} | {t_dense * 1e3:.3f} | {t_aqa * 1e3:.3f} | {t_dense / t_aqa:.2f}x |")
            points.append(dict(L=L, D=D, rho_max=rho_max(rhos, speedups)))
    return points, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None, choices=sorted(DTYPES), help="default: float32 on CPU, bfloat16 on CUDA")
    p.add_argument("--B", type=int, default=1)
    p.add_argument("--H", type=int, default=4)
    p.add_argument("--L", type=int, nargs="+", default=[128, 256, 512, 1024])
    p.add_argument("--D", type=int, nargs="+", default=[64])
    p.add_argument("--rho", type=float, nargs="+", default=[0.0625, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    p.add_argument("--out", default=None, help=f"table file to update (default {table_path()})")
    p.add_argument("--no-write", action="store_true", help="print only")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    dtype = DTYPES[a.dtype or ("bfloat16" if device.type == "cuda" else "float32")]
    key = device_key(device)
    print(f"{key}: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {dtype}, B={a.B} H={a.H}; median of {a.repeats}, fwd+bwd ms\n")
    print("| L | D | rho | dense | AQA | speed-up |\n|---|---|---|---|---|---|")
    points, rows = measure(device, dtype, a.B, a.H, sorted(a.L), a.D, sorted(a.rho), a.repeats)
    entry = dict(points=points, dtype=str(dtype).replace("torch.", ""), B=a.B, H=a.H,
                 torch=torch.__version__, machine=platform.platform(),
                 threads=torch.get_num_threads(), measured_with="benchmarks/bench_crossover.py")
    print("\n" + json.dumps(points))
    if not a.no_write:
        print(f"wrote {key!r} to {write_entry(key, entry, a.out)}")
    return entry, rows


if __name__ == "__main__":
    main()
