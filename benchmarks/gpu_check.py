"""The one prepared GPU check (issue 13): kernels, crossover, step bench, GPU test suite.

    python benchmarks/gpu_check.py --out "$OUT"           # on the GPU machine, < 10 min on an H200
    python benchmarks/gpu_check.py --smoke --out /tmp/gc   # tiny sizes, runs anywhere (CPU dry run)

Sections, in this order (each one's failure is recorded and the next still runs; a section that
would start after --budget-s seconds is skipped, so a 600 s run limit still returns a report):
  1. correctness: Triton AQA forward/backward vs the float32 reference, float32 and bfloat16;
  2. kernels: AQA backward vs SDPA's full backward at rho = 0.125/0.25/0.5 (and forwards), bf16;
  3. step: one decoding step of a random TinyMDM (d1024 x 16 layers, L = 1024, bf16, 16 tokens per
     step): confidence vs BoE(current) dense vs BoE(current) with AQA; plus a torch.profiler table
     of one BoE step;
  4. tests: pytest tests/test_kernels.py;
  5. crossover: benchmarks/bench_crossover.py's measurement -> crossover.json entry for this device
     (copy it into kernels/crossover.json).
Writes gpu_check.json and gpu_check.md (and crossover.json, profile_boe.txt, pytest.txt) to --out.
Exit status: 0 if correctness and tests passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

from kernels import active_query_attention  # the package is installed; bench_* import as this script's neighbours

FULL = dict(
    correctness=[(2, 4, 300, 64), (1, 2, 257, 128), (2, 2, 100, 32), (4, 32, 1024, 128)],
    kernels=[(4, 32, 1024, 128), (1, 8, 1024, 64), (4, 32, 4096, 128), (1, 8, 4096, 64)],
    rho=[0.125, 0.25, 0.5],
    crossover=dict(B=1, H=16, L=[256, 1024, 4096], D=[64, 128], rho=[0.0625, 0.125, 0.25, 0.5, 0.75, 1.0], repeats=10),
    step=dict(vocab=4096, d_model=1024, layers=16, heads=16, length=1024, prompt=64, tokens_per_step=16, repeats=2),
    reps=50,
)
SMOKE = dict(
    correctness=[(1, 2, 20, 16), (2, 1, 17, 32)],
    kernels=[(1, 2, 64, 16)],
    rho=[0.25],
    crossover=dict(B=1, H=2, L=[32, 64], D=[16], rho=[0.25, 1.0], repeats=2),
    step=dict(vocab=64, d_model=32, layers=2, heads=2, length=48, prompt=8, tokens_per_step=8, repeats=1),
    reps=2,
)


def _device_and_dtypes(smoke):
    if torch.cuda.is_available():
        return torch.device("cuda"), [torch.float32, torch.bfloat16], torch.bfloat16
    if not smoke:
        raise SystemExit("gpu_check: no CUDA device; use --smoke for a CPU dry run")
    os.environ.setdefault("TRITON_INTERPRET", "1")  # CPU dry run: Triton through its interpreter
    return torch.device("cpu"), [torch.float32], torch.float32


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _ms(fn, dev, reps):
    """Mean milliseconds per call (CUDA events on a GPU, wall clock otherwise), after a warm-up."""
    fn()
    _sync(dev)
    if dev.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) * 1e3 / reps


def _qkv(B, H, L, D, dev, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, H, L, D, generator=g).to(dev, dtype) for _ in range(4)]


def _active(B, L, rho, dev, seed=1, ragged=True):
    g = torch.Generator().manual_seed(seed)
    n = max(1, round(rho * L))
    a = torch.zeros(B, L, dtype=torch.bool)
    for b in range(B):
        a[b, torch.randperm(L, generator=g)[:max(1, n - (7 * b if ragged else 0))]] = True
    return a.to(dev)


# --- 1. correctness ---------------------------------------------------------------------------
def check_correctness(cfg, dev, dtypes):
    rows = []
    backend = "triton"
    for dtype in dtypes:
        tol = 1e-4 if dtype == torch.float32 else 3e-2
        for B, H, L, D in cfg["correctness"]:
            q, k, v, do = _qkv(B, H, L, D, dev, dtype)
            active = _active(B, L, 0.25, dev)
            kpm = torch.ones(B, L, dtype=torch.bool, device=dev)
            kpm[-1, L - L // 5:] = False
            got = _fwd_bwd(backend, q, k, v, do, active, kpm)
            ref = _fwd_bwd("reference", *(t.float() for t in (q, k, v, do)), active, kpm)
            for name, a, b in zip(("out", "dq", "dk", "dv"), got, ref):
                err = ((a.float() - b).abs().max() / b.abs().max().clamp_min(1e-6)).item()
                rows.append(dict(dtype=str(dtype).replace("torch.", ""), shape=[B, H, L, D], tensor=name,
                                 rel_max_err=err, tol=tol, ok=bool(err <= tol and a.dtype == dtype)))
    return rows


def _fwd_bwd(backend, q, k, v, do, active, kpm):
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    out = active_query_attention(*leaves, active, kpm, backend=backend)
    return [out.detach(), *torch.autograd.grad(out, leaves, do)]


# --- 2. kernel timings ------------------------------------------------------------------------
def time_kernels(cfg, dev, dtype):
    rows = []
    for B, H, L, D in cfg["kernels"]:
        q, k, v, do = _qkv(B, H, L, D, dev, dtype)
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        dense_out = active_query_attention(*leaves)
        s_fwd = _ms(lambda: active_query_attention(*leaves), dev, cfg["reps"])
        s_bwd = _ms(lambda: torch.autograd.grad(dense_out, leaves, do, retain_graph=True), dev, cfg["reps"])
        for rho in cfg["rho"]:
            active = _active(B, L, rho, dev, ragged=False)
            n = int(active.sum(1).max())
            fwd = lambda: active_query_attention(*leaves, active, n_active=n)  # noqa: E731
            out = fwd()
            a_fwd = _ms(fwd, dev, cfg["reps"])
            a_bwd = _ms(lambda: torch.autograd.grad(out, leaves, do, retain_graph=True), dev, cfg["reps"])
            rows.append(dict(B=B, H=H, L=L, D=D, rho=rho, sdpa_fwd_ms=s_fwd, sdpa_bwd_ms=s_bwd,
                             aqa_fwd_ms=a_fwd, aqa_bwd_ms=a_bwd, bwd_speedup=s_bwd / a_bwd))
            print(f"  kernels {B}x{H}x{L}x{D} rho={rho}: SDPA bwd {s_bwd:.3f} ms, AQA bwd {a_bwd:.3f} ms "
                  f"({s_bwd / a_bwd:.2f}x)", flush=True)
    return rows


# --- 3. crossover -----------------------------------------------------------------------------
def measure_crossover(cfg, dev, dtype, out_dir):
    import bench_crossover
    from kernels.crossover import device_key, write_entry

    c = cfg["crossover"]
    points, rows = bench_crossover.measure(dev, dtype, c["B"], c["H"], c["L"], c["D"], c["rho"], c["repeats"],
                                           log=lambda s: print("  crossover", s, flush=True))
    entry = dict(points=points, dtype=str(dtype).replace("torch.", ""), B=c["B"], H=c["H"], torch=torch.__version__,
                 machine=platform.platform(), measured_with="benchmarks/gpu_check.py")
    write_entry(device_key(dev), entry, out_dir / "crossover.json")
    return dict(device=device_key(dev), points=points, rows=rows)


# --- 4. decoding step -------------------------------------------------------------------------
STEP_VARIANTS = [
    ("confidence", dict(policy="confidence")),
    ("boe current, dense", dict(policy="boe", linearize_at="current", use_aqa=False)),
    ("boe current, AQA", dict(policy="boe", linearize_at="current", use_aqa=True, aqa_max_active=1.0)),
    ("boe current, default", dict(policy="boe", linearize_at="current")),
    ("boe shipped default (midpoint, threshold gate)", dict(policy="boe")),
]


def _step_model(c, dev, dtype):
    from bench_step import random_model
    from boe_core.models.tiny_adapter import TinyMDMAdapter

    m = random_model(c["vocab"], c["d_model"], c["layers"], c["heads"], c["length"])
    return TinyMDMAdapter(m.model, m.tokenizer, name=m.name, device=dev, dtype=dtype)


def bench_step(cfg, dev, dtype, out_dir):
    from boe_core import generate

    c = cfg["step"]
    model = _step_model(c, dev, dtype)
    gen = c["length"] - c["prompt"]
    steps = gen // c["tokens_per_step"]
    canvas = torch.full((1, c["length"]), model.mask_id)
    canvas[0, :c["prompt"]] = torch.randint(2, model.tokenizer.vocab_size, (c["prompt"],),
                                            generator=torch.Generator().manual_seed(0))
    for _, kw in STEP_VARIANTS:  # warm-up: cuBLAS handles, Triton autotuning
        generate(model, canvas=canvas, steps=steps, **kw)
    rows = []
    for label, kw in STEP_VARIANTS:
        per_step, rec_times = [], []
        for rep in range(c["repeats"]):
            _sync(dev)
            t0 = time.perf_counter()
            tr = generate(model, canvas=canvas, steps=steps, seed=rep, **kw)
            _sync(dev)
            per_step.append((time.perf_counter() - t0) / steps)
            rec_times += [r.wall_time for r in tr.records]
        rows.append(dict(variant=label, step_ms=statistics.median(per_step) * 1e3,
                         median_record_ms=statistics.median(rec_times) * 1e3))
        print(f"  step {label}: {rows[-1]['step_ms']:.2f} ms", flush=True)
    base = rows[0]["step_ms"]
    for r in rows:
        r["x_confidence"] = r["step_ms"] / base
    _profile_boe(model, canvas, dev, out_dir)
    return dict(model=dict(c, params=model.model.num_parameters(), dtype=str(dtype)), steps=steps, rows=rows)


def _profile_boe(model, canvas, dev, out_dir):
    from torch.profiler import ProfilerActivity, profile

    from boe_core import generate

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        generate(model, canvas=canvas, steps=2, policy="boe", linearize_at="current", use_aqa=True,
                 aqa_max_active=1.0)
        _sync(dev)
    key = "cuda_time_total" if dev.type == "cuda" else "cpu_time_total"
    (out_dir / "profile_boe.txt").write_text(prof.key_averages().table(sort_by=key, row_limit=30))


# --- 5. tests ---------------------------------------------------------------------------------
def run_tests(out_dir, smoke, timeout=420):
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_kernels.py")]
    if smoke:
        args += ["-k", "dispatcher or worth_it"]
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                         timeout=max(30, timeout))
    (out_dir / "pytest.txt").write_text(res.stdout + res.stderr)
    tail = (res.stdout.strip().splitlines() or [""])[-1]
    return dict(returncode=res.returncode, summary=tail)


# --- report -----------------------------------------------------------------------------------
def markdown(rep):
    out = [f"# GPU check — {rep['device']}", "", f"torch {rep['torch']}, triton {rep['triton']}, "
           f"{rep['when']}, smoke={rep['smoke']}", ""]
    if "correctness" in rep:
        bad = [r for r in rep["correctness"] if not r["ok"]]
        worst = max(rep["correctness"], key=lambda r: r["rel_max_err"] / r["tol"])
        out += ["## Correctness", f"{len(rep['correctness']) - len(bad)}/{len(rep['correctness'])} ok; "
                f"worst {worst['tensor']} {worst['dtype']} {worst['shape']}: {worst['rel_max_err']:.2e} "
                f"(tol {worst['tol']:.0e})", ""]
    if "kernels" in rep:
        out += [f"## AQA vs SDPA ({rep['bench_dtype']})", "", "| B | H | L | D | rho | SDPA fwd | AQA fwd | SDPA bwd | AQA bwd | bwd speed-up |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {r['B']} | {r['H']} | {r['L']} | {r['D']} | {r['rho']} | {r['sdpa_fwd_ms']:.3f} | "
                f"{r['aqa_fwd_ms']:.3f} | {r['sdpa_bwd_ms']:.3f} | {r['aqa_bwd_ms']:.3f} | {r['bwd_speedup']:.2f}x |"
                for r in rep["kernels"]]
        out.append("")
    if "crossover" in rep:
        out += ["## Crossover", f"entry {rep['crossover']['device']!r}: " +
                ", ".join(f"L={p['L']} D={p['D']}: rho_max {p['rho_max']}" for p in rep["crossover"]["points"]), ""]
    if "step" in rep:
        m = rep["step"]["model"]
        out += ["## Decoding step", f"TinyMDM d{m['d_model']} x {m['layers']} ({m['params'] / 1e6:.0f}M params), "
                f"L={m['length']}, {m['tokens_per_step']} tokens/step, {m['dtype']}", "",
                "| variant | step (ms) | x confidence |", "|---|---|---|"]
        out += [f"| {r['variant']} | {r['step_ms']:.2f} | {r['x_confidence']:.2f} |" for r in rep["step"]["rows"]]
        out.append("")
    if "tests" in rep:
        out += ["## pytest tests/test_kernels.py", f"rc={rep['tests']['returncode']}: {rep['tests']['summary']}", ""]
    for name, err in rep.get("errors", {}).items():
        out += [f"## {name} FAILED", "```", err[-2000:], "```", ""]
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.environ.get("OUT", "gpu_check_out"))
    p.add_argument("--smoke", action="store_true", help="tiny sizes; runs on CPU through the Triton interpreter")
    p.add_argument("--budget-s", type=float, default=540, help="start no section after this many seconds")
    p.add_argument("--skip", nargs="*", default=[], choices=["correctness", "kernels", "crossover", "step", "tests"])
    a = p.parse_args(argv)
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = SMOKE if a.smoke else FULL
    dev, dtypes, bench_dtype = _device_and_dtypes(a.smoke)
    import triton

    rep = dict(device=torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", torch=torch.__version__,
               triton=triton.__version__, when=time.strftime("%Y-%m-%d %H:%M:%S"), smoke=a.smoke, errors={},
               bench_dtype=str(bench_dtype).replace("torch.", ""),
               seconds={})
    start = time.perf_counter()
    left = lambda: a.budget_s - (time.perf_counter() - start)  # noqa: E731
    sections = [("correctness", lambda: check_correctness(cfg, dev, dtypes)),
                ("kernels", lambda: time_kernels(cfg, dev, bench_dtype)),
                ("step", lambda: bench_step(cfg, dev, bench_dtype, out_dir)),
                ("tests", lambda: run_tests(out_dir, a.smoke, int(left()))),
                ("crossover", lambda: measure_crossover(cfg, dev, bench_dtype, out_dir))]
    for name, fn in sections:
        if name in a.skip:
            continue
        if left() <= 0:
            rep["errors"][name] = f"skipped: the {a.budget_s:.0f} s budget was spent"
            continue
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        try:
            rep[name] = fn()
        except Exception:  # record and go on: one broken section must not cost the others
            rep["errors"][name] = traceback.format_exc()
            print(rep["errors"][name], flush=True)
        rep["seconds"][name] = round(time.perf_counter() - t0, 1)
        (out_dir / "gpu_check.json").write_text(json.dumps(rep, indent=1))  # partial results survive a timeout
    (out_dir / "gpu_check.md").write_text(markdown(rep))
    print(markdown(rep))
    ok = (not rep["errors"] and all(r["ok"] for r in rep.get("correctness", []))
          and rep.get("tests", {}).get("returncode", 0) == 0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
