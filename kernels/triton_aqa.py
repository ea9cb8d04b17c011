"""Triton kernels for ActiveQueryAttention.

Import this module lazily: triton.jit decides at decoration time whether kernels run
compiled or under the CPU interpreter (TRITON_INTERPRET=1), so the env var must be set first.

Layout: q, k, v, o, dq, dk, dv are contiguous (B, H, L, D); lse is (B, H, L) float32;
idx is (B, M) int32 (compacted active rows, see indexing.active_rows), counts is (B,) int32.
Internally scores are kept in base 2 (exp2 is cheaper than exp); lse is stored in natural log.

Backward design: dQ runs one program per block of *active* query rows (grid sized by the
largest active count), looping over key blocks. dK/dV run one program per key block that
loops over the active query blocks of its batch item and accumulates in registers. We chose
this over atomics because it is deterministic, needs no float32 scratch buffers or a cast
pass, and has no atomic contention; the price is recomputing QK^T once more, which is the
same trade FlashAttention-2 makes.
"""
import math
import os

import torch
import triton
import triton.language as tl

# Kernels spell log2(e) = 1.4426950408889634 and ln(2) = 0.6931471805599453 as literals:
# plain Python globals are not visible inside triton.jit code.


@triton.jit
def _fwd_kernel(Q, K, V, O, LSE, KPM, sm_scale, H, L, D,
                HAS_KPM: tl.constexpr, PREC: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    base = bh.to(tl.int64) * L * D
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    m_ok = offs_m < L
    d_ok = offs_d < D
    q = tl.load(Q + base + offs_m[:, None] * D + offs_d[None, :],
                mask=m_ok[:, None] & d_ok[None, :], other=0.0)
    qk_scale = sm_scale * 1.4426950408889634
    # A finite start (not -inf) avoids inf - inf = NaN when a whole key block is padding.
    m_i = tl.full([BLOCK_M], -1.0e30, dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    for start_n in range(0, L, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        in_l = offs_n < L
        n_ok = in_l
        if HAS_KPM:
            n_ok = n_ok & (tl.load(KPM + b * L + offs_n, mask=in_l, other=0) != 0)
        kv_mask = in_l[:, None] & d_ok[None, :]
        k = tl.load(K + base + offs_n[:, None] * D + offs_d[None, :], mask=kv_mask, other=0.0)
        v = tl.load(V + base + offs_n[:, None] * D + offs_d[None, :], mask=kv_mask, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale
        s = tl.where(n_ok[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PREC)
        m_i = m_new
    # Rows with no real key: output 0 and lse=+inf, so the backward's exp(s - lse) is 0.
    has_key = l_i > 0
    l_safe = tl.where(has_key, l_i, 1.0)
    out = acc / l_safe[:, None]
    lse = tl.where(has_key, (m_i + tl.log2(l_safe)) * 0.6931471805599453, float("inf"))
    tl.store(O + base + offs_m[:, None] * D + offs_d[None, :], out.to(O.dtype.element_ty),
             mask=m_ok[:, None] & d_ok[None, :])
    tl.store(LSE + bh.to(tl.int64) * L + offs_m, lse, mask=m_ok)


@triton.jit
def _bwd_delta_kernel(O, DO, DELTA, IDX, CNT, H, L, D, M,
                      BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """delta[j] = rowsum(dO * O) for the j-th active row (compacted, (B, H, M))."""
    pid = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    base = bh.to(tl.int64) * L * D
    cnt = tl.load(CNT + b)
    offs_j = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    j_ok = offs_j < cnt
    rows = tl.load(IDX + b * M + offs_j, mask=j_ok, other=0)
    mask = j_ok[:, None] & (offs_d < D)[None, :]
    ptr = base + rows[:, None] * D + offs_d[None, :]
    o = tl.load(O + ptr, mask=mask, other=0.0).to(tl.float32)
    do = tl.load(DO + ptr, mask=mask, other=0.0).to(tl.float32)
    tl.store(DELTA + bh.to(tl.int64) * M + offs_j, tl.sum(o * do, 1), mask=j_ok)


@triton.jit
def _bwd_dq_kernel(Q, K, V, DO, DQ, LSE, DELTA, IDX, CNT, KPM, sm_scale, H, L, D, M,
                   HAS_KPM: tl.constexpr, PREC: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """dQ for one block of active rows; inactive rows are never touched (left zero)."""
    pid = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    base = bh.to(tl.int64) * L * D
    cnt = tl.load(CNT + b)
    offs_j = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    j_ok = offs_j < cnt
    d_ok = offs_d < D
    rows = tl.load(IDX + b * M + offs_j, mask=j_ok, other=0)
    row_mask = j_ok[:, None] & d_ok[None, :]
    row_ptr = base + rows[:, None] * D + offs_d[None, :]
    q = tl.load(Q + row_ptr, mask=row_mask, other=0.0)
    do = tl.load(DO + row_ptr, mask=row_mask, other=0.0)
    # Unused slots get lse=+inf, hence p=0 and no contribution.
    lse2 = tl.load(LSE + bh.to(tl.int64) * L + rows, mask=j_ok, other=float("inf")) * 1.4426950408889634
    delta = tl.load(DELTA + bh.to(tl.int64) * M + offs_j, mask=j_ok, other=0.0)
    qk_scale = sm_scale * 1.4426950408889634
    dq = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    for start_n in range(0, L, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        in_l = offs_n < L
        n_ok = in_l
        if HAS_KPM:
            n_ok = n_ok & (tl.load(KPM + b * L + offs_n, mask=in_l, other=0) != 0)
        kv_mask = in_l[:, None] & d_ok[None, :]
        k = tl.load(K + base + offs_n[:, None] * D + offs_d[None, :], mask=kv_mask, other=0.0)
        v = tl.load(V + base + offs_n[:, None] * D + offs_d[None, :], mask=kv_mask, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale
        # Mask before exp2 so garbage at padded keys cannot overflow.
        p = tl.exp2(tl.where(n_ok[None, :], s, float("-inf")) - lse2[:, None])
        dp = tl.dot(do, tl.trans(v), input_precision=PREC)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k, input_precision=PREC)
    dq = dq * sm_scale
    tl.store(DQ + row_ptr, dq.to(DQ.dtype.element_ty), mask=row_mask)


@triton.jit
def _bwd_dkdv_kernel(Q, K, V, DO, DK, DV, LSE, DELTA, IDX, CNT, KPM, sm_scale, H, L, D, M,
                     HAS_KPM: tl.constexpr, PREC: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """dK, dV for one key block, summed over the active query rows of its batch item only."""
    pid_n = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    base = bh.to(tl.int64) * L * D
    cnt = tl.load(CNT + b)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    in_l = offs_n < L
    n_ok = in_l
    if HAS_KPM:
        n_ok = n_ok & (tl.load(KPM + b * L + offs_n, mask=in_l, other=0) != 0)
    kv_mask = in_l[:, None] & d_ok[None, :]
    kv_ptr = base + offs_n[:, None] * D + offs_d[None, :]
    k = tl.load(K + kv_ptr, mask=kv_mask, other=0.0)
    v = tl.load(V + kv_ptr, mask=kv_mask, other=0.0)
    qk_scale = sm_scale * 1.4426950408889634
    dk = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    # Work is transposed (keys x queries) so p^T and ds^T feed tl.dot without transposes.
    for start in range(0, cnt, BLOCK_M):
        offs_j = start + tl.arange(0, BLOCK_M)
        j_ok = offs_j < cnt
        rows = tl.load(IDX + b * M + offs_j, mask=j_ok, other=0)
        row_mask = j_ok[:, None] & d_ok[None, :]
        row_ptr = base + rows[:, None] * D + offs_d[None, :]
        q = tl.load(Q + row_ptr, mask=row_mask, other=0.0)
        do = tl.load(DO + row_ptr, mask=row_mask, other=0.0)
        lse2 = tl.load(LSE + bh.to(tl.int64) * L + rows, mask=j_ok, other=float("inf")) * 1.4426950408889634
        delta = tl.load(DELTA + bh.to(tl.int64) * M + offs_j, mask=j_ok, other=0.0)
        st = tl.dot(k, tl.trans(q), input_precision=PREC) * qk_scale  # (BLOCK_N, BLOCK_M)
        pt = tl.exp2(tl.where(n_ok[:, None], st, float("-inf")) - lse2[None, :])
        dv += tl.dot(pt.to(do.dtype), do, input_precision=PREC)
        dpt = tl.dot(v, tl.trans(do), input_precision=PREC)
        dst = pt * (dpt - delta[None, :])
        dk += tl.dot(dst.to(q.dtype), q, input_precision=PREC)
    dk = dk * sm_scale
    tl.store(DK + kv_ptr, dk.to(DK.dtype.element_ty), mask=kv_mask)
    tl.store(DV + kv_ptr, dv.to(DV.dtype.element_ty), mask=kv_mask)


def _interpreting():
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _config(dtype, head_dim):
    """(BLOCK_M, BLOCK_N, BLOCK_D, num_warps, num_stages, precision)."""
    block_d = max(16, triton.next_power_of_2(head_dim))  # tl.dot needs K >= 16
    # float32 uses exact IEEE dots: it is the correctness path; tf32 would cost ~1e-3 rel error.
    prec = "ieee" if dtype == torch.float32 else "tf32"
    if _interpreting():
        return 16, 16, block_d, 1, 1, prec
    # Smaller tiles for float32 with wide heads keep shared memory within budget.
    block = 32 if (dtype == torch.float32 and block_d > 64) else 64
    return block, block, block_d, 4, 2, prec


def _kpm_arg(key_padding_mask, like):
    if key_padding_mask is None:
        return like, False  # dummy pointer, never read
    return key_padding_mask.to(torch.uint8).contiguous(), True


def aqa_forward(q, k, v, key_padding_mask=None):
    """Fused forward for all rows. Returns (o, lse) with lse (B, H, L) float32, natural log."""
    B, H, L, D = q.shape
    o = torch.empty_like(q)
    lse = torch.empty((B, H, L), device=q.device, dtype=torch.float32)
    bm, bn, bd, warps, stages, prec = _config(q.dtype, D)
    kpm, has_kpm = _kpm_arg(key_padding_mask, q)
    grid = (triton.cdiv(L, bm), B * H)
    _fwd_kernel[grid](q, k, v, o, lse, kpm, 1.0 / math.sqrt(D), H, L, D,
                      HAS_KPM=has_kpm, PREC=prec, BLOCK_M=bm, BLOCK_N=bn, BLOCK_D=bd,
                      num_warps=warps, num_stages=stages)
    return o, lse


def aqa_backward(do, q, k, v, o, lse, idx, counts, max_count, key_padding_mask=None):
    """Gradients from the active rows only. idx (B, M) int32, counts (B,) int32."""
    B, H, L, D = q.shape
    dq = torch.zeros_like(q)
    if max_count == 0:
        return dq, torch.zeros_like(k), torch.zeros_like(v)
    dk = torch.empty_like(k)
    dv = torch.empty_like(v)
    M = idx.shape[1]
    bm, bn, bd, warps, stages, prec = _config(q.dtype, D)
    kpm, has_kpm = _kpm_arg(key_padding_mask, q)
    scale = 1.0 / math.sqrt(D)
    delta = torch.empty((B, H, M), device=q.device, dtype=torch.float32)
    row_grid = (triton.cdiv(max_count, bm), B * H)
    _bwd_delta_kernel[row_grid](o, do, delta, idx, counts, H, L, D, M,
                                BLOCK_M=bm, BLOCK_D=bd, num_warps=warps)
    _bwd_dq_kernel[row_grid](q, k, v, do, dq, lse, delta, idx, counts, kpm, scale, H, L, D, M,
                             HAS_KPM=has_kpm, PREC=prec, BLOCK_M=bm, BLOCK_N=bn, BLOCK_D=bd,
                             num_warps=warps, num_stages=stages)
    _bwd_dkdv_kernel[(triton.cdiv(L, bn), B * H)](
        q, k, v, do, dk, dv, lse, delta, idx, counts, kpm, scale, H, L, D, M,
        HAS_KPM=has_kpm, PREC=prec, BLOCK_M=bm, BLOCK_N=bn, BLOCK_D=bd,
        num_warps=warps, num_stages=stages)
    return dq, dk, dv
