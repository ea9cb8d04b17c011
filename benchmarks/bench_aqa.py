"""Backward-pass timing: dense attention vs ActiveQueryAttention (PyTorch reference, CPU).

Times the backward call alone (forward is run untimed before each repeat) and reports the
best of the repeats: on a shared machine the minimum is the least noisy estimate. Defaults to
one intra-op thread for the same reason (--threads to change). rho = fraction of query rows that are active. Prints a markdown table.

    python benchmarks/bench_aqa.py                       # defaults from the project brief
    python benchmarks/bench_aqa.py --L 256 1024 --repeats 5
"""
import argparse
import platform
import time

import torch

from kernels import active_query_attention, dense_attention


def _timed(fn, repeats, warmup):
    """Best-of-repeats seconds of the backward produced by fn() -> (out, grad)."""
    times = []
    for i in range(warmup + repeats):
        out, grad = fn()
        t0 = time.perf_counter()
        out.backward(grad)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return min(times)


def _case(B, H, L, D, rho, device, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v, grad = (torch.randn(B, H, L, D, generator=g).to(device, dtype) for _ in range(4))
    n_active = max(1, round(rho * L))
    active = torch.zeros(B, L, dtype=torch.bool)
    for b in range(B):
        active[b, torch.randperm(L, generator=g)[:n_active]] = True
    return q, k, v, grad, active.to(device)


def _runner(attn, q, k, v, grad):
    def fn():
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        return attn(*leaves), grad
    return fn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, nargs="+", default=[256, 1024, 4096])
    ap.add_argument("--rho", type=float, nargs="+", default=[0.125, 0.25, 0.5])
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--H", type=int, default=4)
    ap.add_argument("--D", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--long-repeats", type=int, default=2, help="repeats for L >= 4096")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backend", default="reference", help="AQA backend to time")
    args = ap.parse_args()
    dtype = torch.float32
    torch.set_num_threads(args.threads)

    print(f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}, {dtype}")
    print(f"B={args.B} H={args.H} D={args.D}; backward time only, best of repeats (ms)\n")
    print("| L | rho | dense SDPA bwd | dense math bwd | AQA bwd | speed-up vs SDPA | speed-up vs math |")
    print("|---|---|---|---|---|---|---|")
    for L in args.L:
        reps = args.long_repeats if L >= 4096 else args.repeats
        warm = min(args.warmup, 1) if L >= 4096 else args.warmup
        q, k, v, grad, _ = _case(args.B, args.H, L, args.D, 1.0, args.device, dtype)
        t_sdpa = _timed(_runner(lambda q, k, v: active_query_attention(q, k, v), q, k, v, grad), reps, warm)
        t_math = _timed(_runner(dense_attention, q, k, v, grad), reps, warm)
        for rho in args.rho:
            q, k, v, grad, active = _case(args.B, args.H, L, args.D, rho, args.device, dtype)
            aqa = lambda q, k, v: active_query_attention(q, k, v, active, backend=args.backend)  # noqa: E731
            t_aqa = _timed(_runner(aqa, q, k, v, grad), reps, warm)
            print(f"| {L} | {rho} | {t_sdpa * 1e3:.1f} | {t_math * 1e3:.1f} | {t_aqa * 1e3:.1f} "
                  f"| {t_sdpa / t_aqa:.2f}x | {t_math / t_aqa:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
