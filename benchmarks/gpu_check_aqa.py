"""One short CUDA check of the Triton ActiveQueryAttention kernels (a few minutes at most).

1. Correctness: Triton forward/backward vs the PyTorch reference (computed in float32 from
   the same rounded inputs), float32 and bfloat16, with padding and ragged active sets.
2. Timing (bf16): Triton AQA forward and backward vs torch SDPA forward and full backward.

    python benchmarks/gpu_check_aqa.py [--B 1 --H 8 --D 64 --L 256 1024 4096]
Exits 1 if a correctness check fails, 2 if no CUDA device is present.
"""
import argparse
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from kernels import active_query_attention  # noqa: E402


def _inputs(B, H, L, D, dtype, rho, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v, do = (torch.randn(B, H, L, D, generator=g).to("cuda", dtype) for _ in range(4))
    n_active = max(1, round(rho * L))
    active = torch.zeros(B, L, dtype=torch.bool)
    for b in range(B):  # ragged: item b gets fewer active rows
        active[b, torch.randperm(L, generator=g)[:max(1, n_active - 7 * b)]] = True
    kpm = torch.ones(B, L, dtype=torch.bool)
    kpm[-1, L - L // 5:] = False
    return q, k, v, do, active.cuda(), kpm.cuda()


def _fwd_bwd(backend, q, k, v, do, active, kpm):
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    out = active_query_attention(*leaves, active, kpm, backend=backend)
    grads = torch.autograd.grad(out, leaves, do)
    return [out.detach(), *grads]


def check_correctness():
    ok = True
    for dtype, tol in ((torch.float32, 1e-4), (torch.bfloat16, 3e-2)):
        for B, H, L, D in ((2, 4, 300, 64), (1, 2, 257, 128), (2, 2, 100, 32)):
            q, k, v, do, active, kpm = _inputs(B, H, L, D, dtype, rho=0.25)
            got = _fwd_bwd("triton", q, k, v, do, active, kpm)
            ref = _fwd_bwd("reference", q.float(), k.float(), v.float(), do.float(), active, kpm)
            for name, a, b in zip(("out", "dq", "dk", "dv"), got, ref):
                err = ((a.float() - b).abs().max() / b.abs().max().clamp_min(1e-6)).item()
                good = err <= tol and a.dtype == dtype
                ok &= good
                print(f"{'ok  ' if good else 'FAIL'} {str(dtype):15} {(B, H, L, D)} {name}: "
                      f"rel max err {err:.2e} (tol {tol:.0e})")
    return ok


def _ms(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def _timings(backend, q, k, v, do, active):
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    fwd = lambda: active_query_attention(*leaves, active, backend=backend)  # noqa: E731
    out = fwd()
    bwd = lambda: torch.autograd.grad(out, leaves, do, retain_graph=True)  # noqa: E731
    return _ms(fwd), _ms(bwd)


def time_kernels(args):
    print(f"\nbf16, B={args.B} H={args.H} D={args.D}; mean ms over 20 calls after a warm-up\n")
    print("| L | rho | SDPA fwd | SDPA bwd (all rows) | AQA fwd | AQA bwd | bwd speed-up |")
    print("|---|---|---|---|---|---|---|")
    for L in args.L:
        q, k, v, do, _, _ = _inputs(args.B, args.H, L, args.D, torch.bfloat16, rho=1.0)
        s_fwd, s_bwd = _timings("dense", q, k, v, do, None)
        for rho in args.rho:
            active = torch.zeros(args.B, L, dtype=torch.bool, device="cuda")
            active[:, torch.randperm(L, device="cuda")[:max(1, round(rho * L))]] = True
            a_fwd, a_bwd = _timings("triton", q, k, v, do, active)
            print(f"| {L} | {rho} | {s_fwd:.3f} | {s_bwd:.3f} | {a_fwd:.3f} | {a_bwd:.3f} "
                  f"| {s_bwd / a_bwd:.2f}x |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, nargs="+", default=[256, 1024, 4096])
    ap.add_argument("--rho", type=float, nargs="+", default=[0.125, 0.25, 0.5])
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--H", type=int, default=8)
    ap.add_argument("--D", type=int, default=64)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check_aqa: no CUDA device visible to torch; this script needs a CUDA GPU "
              "(the CPU tests live in tests/test_kernels.py).")
        sys.exit(2)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"python {platform.python_version()}")
    ok = check_correctness()
    time_kernels(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
