"""Tests for kernels/: ActiveQueryAttention (reference + Triton) and its dispatcher.

Device-aware: with CUDA the Triton cases run compiled on CUDA tensors (bfloat16 included);
without it they run under the Triton CPU interpreter on CPU tensors. triton.jit picks
interpreter vs compiler when a kernel is *decorated*, and kernels/ imports its Triton module
lazily, so setting TRITON_INTERPRET here (before any Triton backend call) is enough.
"""
import math
import os
import subprocess
import sys

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
if not HAS_CUDA:
    os.environ["TRITON_INTERPRET"] = "1"
# Where the Triton backend's tensors live: compiled kernels need CUDA, the interpreter CPU.
TRITON_DEVICE = "cuda" if HAS_CUDA and os.environ.get("TRITON_INTERPRET") != "1" else "cpu"

from kernels import active_query_attention, dense_attention, resolve_backend  # noqa: E402
from kernels.reference import reference_aqa  # noqa: E402

requires_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
try:
    import triton.language as _tl
    HAS_TRITON = True
    # If something imported triton before this module set TRITON_INTERPRET, its own jit
    # helpers (tl.sum, ...) are compiled-mode and the CPU interpreter cannot run our kernels
    # in this process; test_triton_in_fresh_process then reruns them in a subprocess.
    TRITON_STALE = not HAS_CUDA and type(_tl.sum).__name__ != "InterpretedFunction"
except ImportError:
    HAS_TRITON = TRITON_STALE = False
requires_triton = pytest.mark.skipif(
    not HAS_TRITON or TRITON_STALE,
    reason="triton missing, or imported before TRITON_INTERPRET was set (see fresh-process test)")


@pytest.mark.skipif(not TRITON_STALE, reason="triton tests already run in this process")
def test_triton_in_fresh_process():
    env = dict(os.environ, TRITON_INTERPRET="1")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          __file__, "-k", "triton and not fresh_process"],
                         env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


# Tiny shapes: the Triton interpreter is slow. (B, H, L, D); L and one D not powers of two.
SHAPES = [(1, 2, 16, 16), (2, 1, 37, 32), (2, 1, 23, 24)]
ACTIVE_KINDS = ["empty", "full", "random", "one_row"]


def _inputs(shape, dtype=torch.float32, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(shape, generator=g).to(device, dtype) for _ in range(3))
    grad = torch.randn(shape, generator=g).to(device, dtype)
    return q, k, v, grad


def _active(kind, B, L, device="cpu", seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind == "empty":
        a = torch.zeros(B, L, dtype=torch.bool)
    elif kind == "full":
        a = torch.ones(B, L, dtype=torch.bool)
    elif kind == "one_row":
        a = torch.zeros(B, L, dtype=torch.bool)
        a[0, L // 2] = True  # other batch items: no active row at all
    else:
        a = torch.rand(B, L, generator=g) < 0.3
        a[:, 0] = True
        if B > 1:
            a[1, 1:] = torch.rand(L - 1, generator=g) < 0.6  # different counts per item
    return a.to(device)


def _padding(B, L, device="cpu"):
    kpm = torch.ones(B, L, dtype=torch.bool)
    kpm[-1, L - L // 3:] = False  # tail padding on the last item
    kpm[0, 2] = False  # and a hole in the middle
    return kpm.to(device)


def _run(fn, q, k, v, grad, *args, **kw):
    """Output and (dq, dk, dv) for upstream gradient `grad`."""
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = fn(q, k, v, *args, **kw)
    if out.requires_grad:
        out.backward(grad)
    grads = [t.grad if t.grad is not None else torch.zeros_like(t) for t in (q, k, v)]
    return out.detach(), grads


def _expected(q, k, v, grad, active, kpm):
    """Hand-built target: dense attention where inactive rows use a fully detached output."""
    def fn(q, k, v):
        full = dense_attention(q, k, v, kpm)
        return torch.where(active[:, None, :, None], full, full.detach())
    return _run(fn, q, k, v, grad)


def _close(a, b, tol=2e-5):
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)


BACKENDS = ["reference", pytest.param("triton", marks=requires_triton)]


def _device(backend):
    """The tensors' device for a backend: the Triton case follows TRITON_DEVICE."""
    return TRITON_DEVICE if backend == "triton" else "cpu"


def _cpu(*ts):
    return [t.cpu() for t in ts]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ACTIVE_KINDS)
@pytest.mark.parametrize("padded", [False, True])
def test_forward_and_backward_match_expected(backend, shape, kind, padded):
    B, H, L, D = shape
    dev = _device(backend)
    q, k, v, grad = _inputs(shape, device=dev)
    active = _active(kind, B, L, dev)
    kpm = _padding(B, L, dev) if padded else None
    out, (dq, dk, dv) = _run(active_query_attention, q, k, v, grad, active, kpm, backend=backend)
    ref_out, (rdq, rdk, rdv) = _expected(q, k, v, grad, active, kpm)
    assert out.device.type == dev and dq.device.type == dev
    _close(out, ref_out)
    _close(dq, rdq)
    _close(dk, rdk)
    _close(dv, rdv)
    # Inactive rows get exactly zero q-gradient.
    assert torch.all(dq.masked_select(~active[:, None, :, None]) == 0)


@requires_triton
@pytest.mark.parametrize("shape", SHAPES)
def test_triton_matches_reference(shape):
    B, H, L, D = shape
    dev = TRITON_DEVICE
    q, k, v, grad = _inputs(shape, device=dev, seed=3)
    active, kpm = _active("random", B, L, dev, seed=4), _padding(B, L, dev)
    out_t, g_t = _run(active_query_attention, q, k, v, grad, active, kpm, backend="triton")
    out_r, g_r = _run(active_query_attention, *_cpu(q, k, v, grad, active, kpm), backend="reference")
    _close(out_t.cpu(), out_r)
    for a, b in zip(g_t, g_r):
        _close(a.cpu(), b)


@requires_triton
def test_triton_reads_strided_views_in_place():
    """Attention layers hand over (B, L, H, D) -> transpose(1, 2) views; the kernels read them
    through their strides (no copies) and the gradients land in the same layout."""
    B, H, L, D = 2, 2, 19, 16
    dev = TRITON_DEVICE
    g = torch.Generator().manual_seed(11)
    qkv = torch.randn(B, L, 3, H, D, generator=g).to(dev)
    grad = torch.randn(B, H, L, D, generator=g).to(dev)
    active, kpm = _active("random", B, L, dev, seed=12), _padding(B, L, dev)

    def split(t):
        return [t[:, :, i].transpose(1, 2) for i in range(3)]  # strided, non-contiguous views

    leaf = qkv.clone().requires_grad_()
    q, k, v = split(leaf)
    assert not q.is_contiguous()
    out = active_query_attention(q, k, v, active, kpm, backend="triton", n_active=L)
    out.backward(grad)
    ref_leaf = qkv.cpu().clone().requires_grad_()
    rq, rk, rv = split(ref_leaf)
    active_query_attention(rq, rk, rv, active.cpu(), kpm.cpu(), backend="reference").backward(grad.cpu())
    _close(leaf.grad.cpu(), ref_leaf.grad)


@requires_triton
def test_triton_float16_matches_float32_reference():
    """Half precision through the kernels. (bf16 is CUDA-only: the interpreter's tl.dot
    mishandles bfloat16, so it is covered by test_cuda_triton_matches_reference.)"""
    B, H, L, D = 2, 1, 33, 32
    dev = TRITON_DEVICE
    q, k, v, grad = _inputs((B, H, L, D), torch.float16, dev, seed=9)
    active, kpm = _active("random", B, L, dev, seed=10), _padding(B, L, dev)
    out_t, g_t = _run(active_query_attention, q, k, v, grad, active, kpm, backend="triton")
    out_r, g_r = _run(active_query_attention, *(t.float() for t in _cpu(q, k, v, grad)),
                      *_cpu(active, kpm), backend="reference")
    assert out_t.dtype == torch.float16
    for a, b in zip([out_t, *g_t], [out_r, *g_r]):
        torch.testing.assert_close(a.float().cpu(), b, atol=5e-3, rtol=5e-3)


def test_reference_forward_is_bitwise_dense():
    q, k, v, _ = _inputs((2, 2, 37, 32))
    active, kpm = _active("random", 2, 37), _padding(2, 37)
    q.requires_grad_()
    assert torch.equal(reference_aqa(q, k, v, active, kpm).detach(), dense_attention(q, k, v, kpm))


def test_reference_backward_saves_no_full_score_matrix():
    """The graph must scale with |A| * L, not L * L: no saved tensor has L*L per head."""
    B, H, L, D = 1, 2, 64, 16
    q, k, v, _ = _inputs((B, H, L, D))
    q.requires_grad_()
    active = torch.zeros(B, L, dtype=torch.bool)
    active[0, :4] = True
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        reference_aqa(q, k, v, active)
    assert sizes and max(sizes) <= max(B * H * 4 * L, B * H * L * D)


@pytest.mark.parametrize("backend", BACKENDS)
def test_padded_keys_do_not_matter(backend):
    B, H, L, D = 2, 2, 29, 16
    dev = _device(backend)
    q, k, v, grad = _inputs((B, H, L, D), device=dev, seed=5)
    active, kpm = _active("random", B, L, dev, seed=6), _padding(B, L, dev)
    pad = ~kpm[:, None, :, None]
    k2 = torch.where(pad, 100 * torch.randn_like(k), k)
    v2 = torch.where(pad, 100 * torch.randn_like(v), v)
    out1, g1 = _run(active_query_attention, q, k, v, grad, active, kpm, backend=backend)
    out2, g2 = _run(active_query_attention, q, k2, v2, grad, active, kpm, backend=backend)
    _close(out1, out2)
    for a, b in zip(g1, g2):
        _close(a, b)
    for g in g2[1:]:  # padded keys/values get no gradient
        assert torch.all(g.masked_select(pad.expand_as(g)) == 0)


@pytest.mark.parametrize("backend", ["dense", "reference", pytest.param("triton", marks=requires_triton)])
def test_fully_padded_item_gives_zeros_not_nan(backend):
    B, H, L, D = 2, 1, 17, 16
    dev = _device(backend)
    q, k, v, grad = _inputs((B, H, L, D), device=dev)
    kpm = torch.ones(B, L, dtype=torch.bool, device=dev)
    kpm[1] = False
    out, grads = _run(active_query_attention, q, k, v, grad, _active("full", B, L, dev), kpm,
                      backend=backend)
    assert torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads)
    assert torch.all(out[1] == 0)


def test_active_none_is_plain_dense_attention():
    q, k, v, grad = _inputs((2, 2, 21, 16))
    kpm = _padding(2, 21)
    out, g = _run(active_query_attention, q, k, v, grad, None, kpm)
    ref, rg = _run(dense_attention, q, k, v, grad, kpm)
    _close(out, ref)
    for a, b in zip(g, rg):
        _close(a, b)


def test_dispatcher_backend_selection(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.delenv("BOE_AQA_BACKEND", raising=False)
    assert resolve_backend(None, cpu) == "reference"
    assert resolve_backend(None, torch.device("cuda")) == ("triton" if HAS_TRITON else "reference")
    monkeypatch.setenv("BOE_AQA_BACKEND", "dense")
    assert resolve_backend(None, cpu) == "dense"
    assert resolve_backend("reference", cpu) == "reference"  # explicit argument wins

    # The env override really changes behaviour: 'dense' keeps every row's graph.
    q, k, v, grad = _inputs((1, 1, 8, 16))
    active = torch.zeros(1, 8, dtype=torch.bool)
    _, (dq, _, _) = _run(active_query_attention, q, k, v, grad, active)
    assert dq.abs().sum() > 0

    monkeypatch.setenv("BOE_AQA_BACKEND", "cuda-magic")
    with pytest.raises(ValueError, match="BOE_AQA_BACKEND"):
        active_query_attention(q, k, v, active)


def test_float64_reference_stays_float64():
    q, k, v, grad = _inputs((1, 2, 12, 16), torch.float64)
    active = _active("random", 1, 12)
    out, (dq, dk, dv) = _run(active_query_attention, q, k, v, grad, active)
    ref, (rdq, rdk, rdv) = _expected(q, k, v, grad, active, None)
    assert out.dtype == torch.float64
    for a, b in zip((out, dq, dk, dv), (ref, rdq, rdk, rdv)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    assert resolve_backend(None, torch.device("cuda"), torch.float64) == "reference"


def test_bad_arguments_raise_clear_errors():
    q, k, v, _ = _inputs((1, 1, 8, 16))
    with pytest.raises(ValueError, match="backend='flash'"):
        active_query_attention(q, k, v, backend="flash")
    with pytest.raises(ValueError, match="active"):
        active_query_attention(q, k, v, active=torch.ones(1, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_padding_mask"):
        active_query_attention(q, k, v, key_padding_mask=torch.ones(1, 8))
    with pytest.raises(ValueError, match="float64"):
        active_query_attention(q.double(), k.double(), v.double(),
                               active=torch.ones(1, 8, dtype=torch.bool), backend="triton")


@requires_cuda
@requires_triton
@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") == "1",
                    reason="TRITON_INTERPRET=1 is set: CUDA tests need the compiled kernels")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(2, 4, 200, 64), (1, 2, 129, 128), (2, 2, 77, 32), (1, 2, 64, 16)])
def test_cuda_triton_matches_reference(dtype, shape):
    B, H, L, D = shape
    q, k, v, grad = _inputs(shape, dtype, "cuda", seed=7)
    active, kpm = _active("random", B, L, "cuda", seed=8), _padding(B, L, "cuda")
    out_t, g_t = _run(active_query_attention, q, k, v, grad, active, kpm, backend="triton")
    # Reference in float32 from the same (rounded) inputs.
    out_r, g_r = _run(active_query_attention, q.float(), k.float(), v.float(), grad.float(),
                      active, kpm, backend="reference")
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    assert out_t.dtype == dtype
    torch.testing.assert_close(out_t.float(), out_r, atol=tol, rtol=tol)
    for a, b in zip(g_t, g_r):
        torch.testing.assert_close(a.float(), b, atol=tol * 4, rtol=tol * 4)


def test_aqa_worth_it_reads_the_measured_crossover(tmp_path):
    from kernels.crossover import aqa_worth_it, crossover_rho, load_table, write_entry

    path = tmp_path / "crossover.json"
    write_entry("Fake GPU", {"points": [{"L": 256, "D": 64, "rho_max": 0.1},
                                        {"L": 1024, "D": 64, "rho_max": 0.5},
                                        {"L": 1024, "D": 128, "rho_max": 0.9}]}, path)
    table = load_table(path)
    # interpolated in log2(L) between the measured points, clamped outside them
    assert crossover_rho("Fake GPU", 512, 64, table) == pytest.approx(0.3)
    assert crossover_rho("Fake GPU", 64, 64, table) == pytest.approx(0.1)
    assert crossover_rho("Fake GPU", 8192, 64, table) == pytest.approx(0.5)
    assert crossover_rho("Fake GPU", 1024, 96, table) == pytest.approx(0.9)  # nearest D (ties: larger)
    assert aqa_worth_it("Fake GPU", 1024, 500, 64, table=table)
    assert not aqa_worth_it("Fake GPU", 1024, 600, 64, table=table)
    # an explicit aqa_max_active overrides the table; unmeasured devices keep the 50% rule
    assert aqa_worth_it("Fake GPU", 1024, 600, 64, max_active=1.0, table=table)
    assert crossover_rho("Other GPU", 1024, 64, table) is None
    assert aqa_worth_it("Other GPU", 100, 50, table=table) and not aqa_worth_it("Other GPU", 100, 51, table=table)
    with pytest.raises(ValueError, match="max_active=1.5"):
        aqa_worth_it("cpu", 10, 1, max_active=1.5)
    with pytest.raises(ValueError, match="L=0"):
        aqa_worth_it("cpu", 0, 1)


def test_shipped_crossover_table_has_a_cpu_entry():
    from kernels.crossover import TABLE_FILE, crossover_rho, load_table

    table = load_table(TABLE_FILE)
    points = table["devices"]["cpu"]["points"]
    cpu = torch.device("cpu")
    by_L = sorted((p["L"], p["rho_max"]) for p in points if p["D"] == 64)  # head size 64 is measured
    assert len(by_L) >= 2
    for L, rho in by_L:  # at a measured length: the measured value
        assert crossover_rho(cpu, L, 64, table) == pytest.approx(rho)
    for (l0, r0), (l1, r1) in zip(by_L, by_L[1:]):  # between two: linear in log2 L
        L = int(round(2 ** ((3 * math.log2(l0) + math.log2(l1)) / 4)))
        frac = (math.log2(L) - math.log2(l0)) / (math.log2(l1) - math.log2(l0))
        assert crossover_rho(cpu, L, 64, table) == pytest.approx(r0 + (r1 - r0) * frac)
    assert crossover_rho(cpu, by_L[0][0] // 4, 64, table) == pytest.approx(by_L[0][1])  # held at the ends
    assert crossover_rho(cpu, by_L[-1][0] * 4, 64, table) == pytest.approx(by_L[-1][1])


def test_crossover_interpolates_a_hand_made_table():
    from kernels.crossover import crossover_rho

    table = {"devices": {"cpu": {"points": [{"D": 32, "L": 256, "rho_max": 0.9},
                                            {"D": 64, "L": 256, "rho_max": 0.2},
                                            {"D": 64, "L": 1024, "rho_max": 0.6}]}}}
    cpu = torch.device("cpu")
    assert crossover_rho(cpu, 512, 64, table) == pytest.approx(0.4)  # halfway in log2 L
    assert crossover_rho(cpu, 512, 48, table) == pytest.approx(0.4)  # head 48: nearer 64 than 32 in log2
    assert crossover_rho(cpu, 512, 32, table) == pytest.approx(0.9)  # the only D = 32 point
    assert crossover_rho("no-such-device", 512, 64, table) is None  # a device the table has not measured
