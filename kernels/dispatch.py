"""Public entry point: validates inputs and picks a backend for ActiveQueryAttention."""
import importlib.util
import os

import torch
from .reference import reference_aqa
from .sdpa import sdpa_attention

BACKENDS = ("reference", "triton", "dense")
ENV_VAR = "BOE_AQA_BACKEND"
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def _triton_available():
    return importlib.util.find_spec("triton") is not None


def resolve_backend(backend, device, dtype=torch.float32):
    """Explicit argument > $BOE_AQA_BACKEND > auto (Triton for CUDA fp16/bf16/fp32 tensors
    when triton is importable, else the PyTorch reference)."""
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"active_query_attention: unknown backend={backend!r}; "
                             f"expected None or one of {BACKENDS}")
        return backend
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if env not in BACKENDS:
            raise ValueError(f"${ENV_VAR}={env!r} is not a valid backend; expected one of {BACKENDS}")
        return env
    use_triton = device.type == "cuda" and dtype in TRITON_DTYPES and _triton_available()
    return "triton" if use_triton else "reference"


def _check(q, k, v, active, key_padding_mask):
    if q.dim() != 4 or q.shape != k.shape or q.shape != v.shape:
        raise ValueError(f"q, k, v must share one (B, H, L, D) shape; got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"q, k, v must share a dtype; got {q.dtype}, {k.dtype}, {v.dtype}")
    B, _, L, _ = q.shape
    for name, m in (("active", active), ("key_padding_mask", key_padding_mask)):
        if m is not None and (m.dtype != torch.bool or tuple(m.shape) != (B, L)):
            raise ValueError(f"{name} must be a bool tensor of shape {(B, L)}; "
                             f"got {m.dtype} {tuple(m.shape)}")


def active_query_attention(q, k, v, active=None, key_padding_mask=None, backend=None,
                           n_active=None):
    """Attention whose forward is exact for all rows but whose graph covers only active rows.

    q, k, v: (B, H, L, D), any strides. active: (B, L) bool or None (None = ordinary dense
    attention). key_padding_mask: (B, L) bool, True = real key.
    backend: None | 'reference' | 'triton' | 'dense'. n_active: optional host-side int (the
    largest active count per item) that only picks the Triton backward's tuned tile sizes.
    """
    _check(q, k, v, active, key_padding_mask)
    backend = resolve_backend(backend, q.device, q.dtype)
    if active is None or backend == "dense":
        return sdpa_attention(q, k, v, key_padding_mask)
    active = active.to(q.device)
    if backend == "reference":
        return reference_aqa(q, k, v, active, key_padding_mask)
    if q.dtype not in TRITON_DTYPES:
        raise ValueError(f"backend='triton' supports {TRITON_DTYPES}, got {q.dtype}; "
                         "use backend='reference'")
    if q.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError("backend='triton' needs CUDA tensors (or TRITON_INTERPRET=1 for the "
                         "CPU interpreter)")
    from .autograd import triton_aqa_attention  # lazy: triton.jit must see TRITON_INTERPRET
    return triton_aqa_attention(q, k, v, active, key_padding_mask, n_active)
