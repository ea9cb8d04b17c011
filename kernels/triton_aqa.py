"""Triton backward for ActiveQueryAttention (the forward is SDPA: exact and already fused).

Import this module lazily: triton.jit decides at decoration time whether kernels run
compiled or under the CPU interpreter (TRITON_INTERPRET=1), so the env var must be set first.

Layout: q, k, v, o, do, dq, dk, dv are (B, H, L, D) with any strides whose last one is 1 (the
(B, L, H, D) -> transpose(1, 2) views that attention layers make are read in place, no copy).
idx is (B, L) int32: row b lists its active query rows first, in ascending order
(indexing.active_index); counts is (B,) int32. Nothing here reads a device value on the host:
grids are sized by L (an upper bound) and programs past their item's active count exit at once.

Two kernels, both parallel over batch x heads:
  1. dQ, one program per block of active rows. A first pass over the keys recomputes the
     row's log-sum-exp (only active rows need it, so the forward can stay plain SDPA), then
     delta = rowsum(dO * O) and dQ. lse and delta go to small (B*H, L) slot buffers.
  2. dK/dV, one program per key block, looping over the active query blocks of its item and
     accumulating in registers: deterministic, no atomics, no float32 scratch or cast pass.
Scores are kept in base 2 (exp2 is cheaper than exp). Block sizes, warps and stages are
autotuned per (B, H, L, D, active-count bucket) on a GPU; the interpreter uses one small config.
"""
import math
import os

import torch
import triton
import triton.language as tl

# Kernels spell log2(e) = 1.4426950408889634 as a literal: Python globals are not visible
# inside triton.jit code.


@triton.jit
def _bwd_dq_kernel(Q, K, V, O, DO, DQ, LSE, DELTA, IDX, CNT, KPM, sm_scale,
                   sqb, sqh, sql, skb, skh, skl, svb, svh, svl, sob, soh, sol,
                   sdob, sdoh, sdol, sdqb, sdqh, sdql,
                   B, H, L, D, N_BUCKET,
                   HAS_KPM: tl.constexpr, PREC: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    cnt = tl.load(CNT + b)
    if pid * BLOCK_M < cnt:  # programs past the active count have nothing to do
        offs_j = pid * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_d = tl.arange(0, BLOCK_D)
        j_ok = offs_j < cnt
        d_ok = offs_d < D
        rows = tl.load(IDX + b * L + offs_j, mask=j_ok, other=0).to(tl.int64)
        row_mask = j_ok[:, None] & d_ok[None, :]
        q = tl.load(Q + b.to(tl.int64) * sqb + h * sqh + rows[:, None] * sql + offs_d[None, :],
                    mask=row_mask, other=0.0)
        k_base = K + b.to(tl.int64) * skb + h * skh
        v_base = V + b.to(tl.int64) * svb + h * svh
        qk_scale = sm_scale * 1.4426950408889634
        # Pass 1: log-sum-exp of the active rows. A finite start avoids inf - inf = NaN
        # when a whole key block is padding.
        m_i = tl.full([BLOCK_M], -1.0e30, dtype=tl.float32)
        l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
        for start_n in range(0, L, BLOCK_N):
            offs_n = start_n + tl.arange(0, BLOCK_N)
            in_l = offs_n < L
            n_ok = in_l
            if HAS_KPM:
                n_ok = n_ok & (tl.load(KPM + b * L + offs_n, mask=in_l, other=0) != 0)
            k = tl.load(k_base + offs_n[:, None] * skl + offs_d[None, :],
                        mask=in_l[:, None] & d_ok[None, :], other=0.0)
            s = tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale
            s = tl.where(n_ok[None, :], s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, 1))
            l_i = l_i * tl.exp2(m_i - m_new) + tl.sum(tl.exp2(s - m_new[:, None]), 1)
            m_i = m_new
        # Rows with no real key: lse = +inf, so p = exp2(s - lse) = 0 and they add nothing.
        has_key = l_i > 0
        lse2 = tl.where(has_key, m_i + tl.log2(tl.where(has_key, l_i, 1.0)), float("inf"))
        o = tl.load(O + b.to(tl.int64) * sob + h * soh + rows[:, None] * sol + offs_d[None, :],
                    mask=row_mask, other=0.0).to(tl.float32)
        do = tl.load(DO + b.to(tl.int64) * sdob + h * sdoh + rows[:, None] * sdol + offs_d[None, :],
                     mask=row_mask, other=0.0)
        delta = tl.sum(o * do.to(tl.float32), 1)
        slot = bh.to(tl.int64) * L + offs_j
        tl.store(LSE + slot, lse2, mask=j_ok)
        tl.store(DELTA + slot, delta, mask=j_ok)
        # Pass 2: dQ = scale * sum_n p * (dO.v_n - delta) k_n.
        dq = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
        for start_n in range(0, L, BLOCK_N):
            offs_n = start_n + tl.arange(0, BLOCK_N)
            in_l = offs_n < L
            n_ok = in_l
            if HAS_KPM:
                n_ok = n_ok & (tl.load(KPM + b * L + offs_n, mask=in_l, other=0) != 0)
            kv_mask = in_l[:, None] & d_ok[None, :]
            k = tl.load(k_base + offs_n[:, None] * skl + offs_d[None, :], mask=kv_mask, other=0.0)
            v = tl.load(v_base + offs_n[:, None] * svl + offs_d[None, :], mask=kv_mask, other=0.0)
            s = tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale
            # Mask before exp2 so garbage at padded keys cannot overflow.
            p = tl.exp2(tl.where(n_ok[None, :], s, float("-inf")) - lse2[:, None])
            dp = tl.dot(do, tl.trans(v), input_precision=PREC)
            ds = p * (dp - delta[:, None])
            dq += tl.dot(ds.to(k.dtype), k, input_precision=PREC)
        dq = dq * sm_scale
        tl.store(DQ + b.to(tl.int64) * sdqb + h * sdqh + rows[:, None] * sdql + offs_d[None, :],
                 dq.to(DQ.dtype.element_ty), mask=row_mask)


@triton.jit
def _bwd_dkdv_kernel(Q, K, V, DO, DK, DV, LSE, DELTA, IDX, CNT, KPM, sm_scale,
                     sqb, sqh, sql, skb, skh, skl, svb, svh, svl, sdob, sdoh, sdol,
                     sdkb, sdkh, sdkl, sdvb, sdvh, sdvl,
                     B, H, L, D, N_BUCKET,
                     HAS_KPM: tl.constexpr, PREC: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """dK, dV for one key block, summed over the active query rows of its batch item only."""
    pid_n = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    cnt = tl.load(CNT + b)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    in_l = offs_n < L
    n_ok = in_l
    if HAS_KPM:
        n_ok = n_ok & (tl.load(KPM + b * L + offs_n, mask=in_l, other=0) != 0)
    kv_mask = in_l[:, None] & d_ok[None, :]
    k = tl.load(K + b.to(tl.int64) * skb + h * skh + offs_n[:, None] * skl + offs_d[None, :],
                mask=kv_mask, other=0.0)
    v = tl.load(V + b.to(tl.int64) * svb + h * svh + offs_n[:, None] * svl + offs_d[None, :],
                mask=kv_mask, other=0.0)
    q_base = Q + b.to(tl.int64) * sqb + h * sqh
    do_base = DO + b.to(tl.int64) * sdob + h * sdoh
    qk_scale = sm_scale * 1.4426950408889634
    dk = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    # Work is transposed (keys x queries) so p^T and ds^T feed tl.dot without transposes.
    for start in range(0, cnt, BLOCK_M):
        offs_j = start + tl.arange(0, BLOCK_M)
        j_ok = offs_j < cnt
        rows = tl.load(IDX + b * L + offs_j, mask=j_ok, other=0).to(tl.int64)
        row_mask = j_ok[:, None] & d_ok[None, :]
        q = tl.load(q_base + rows[:, None] * sql + offs_d[None, :], mask=row_mask, other=0.0)
        do = tl.load(do_base + rows[:, None] * sdol + offs_d[None, :], mask=row_mask, other=0.0)
        slot = bh.to(tl.int64) * L + offs_j
        lse2 = tl.load(LSE + slot, mask=j_ok, other=float("inf"))
        delta = tl.load(DELTA + slot, mask=j_ok, other=0.0)
        st = tl.dot(k, tl.trans(q), input_precision=PREC) * qk_scale  # (BLOCK_N, BLOCK_M)
        pt = tl.exp2(tl.where(n_ok[:, None], st, float("-inf")) - lse2[None, :])
        dv += tl.dot(pt.to(do.dtype), do, input_precision=PREC)
        dpt = tl.dot(v, tl.trans(do), input_precision=PREC)
        dst = pt * (dpt - delta[None, :])
        dk += tl.dot(dst.to(q.dtype), q, input_precision=PREC)
    dk = dk * sm_scale
    tl.store(DK + b.to(tl.int64) * sdkb + h * sdkh + offs_n[:, None] * sdkl + offs_d[None, :],
             dk.to(DK.dtype.element_ty), mask=kv_mask)
    tl.store(DV + b.to(tl.int64) * sdvb + h * sdvh + offs_n[:, None] * sdvl + offs_d[None, :],
             dv.to(DV.dtype.element_ty), mask=kv_mask)


def _interpreting():
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


_TUNE_KEY = ["B", "H", "L", "D", "N_BUCKET"]


def _configs(pairs):
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s)
            for m, n, w, s in pairs]


def _prune(configs, named_args, **kwargs):
    """float32 with wide heads needs small tiles to fit shared memory; drop the rest early."""
    big = named_args["Q"].dtype == torch.float32 and named_args["D"] > 64
    keep = [c for c in configs if not big or (c.kwargs["BLOCK_M"] <= 32 and c.kwargs["BLOCK_N"] <= 64)]
    return keep or configs[:1]


# dQ programs hold BLOCK_M active rows and stream keys; small BLOCK_M gives more programs when
# few rows are active (B=1, H=8: 8 heads x ceil(256 / 16) blocks = 128 programs on 132 SMs).
_DQ_CONFIGS = _configs([(16, 64, 4, 2), (16, 128, 4, 3), (32, 64, 4, 2), (32, 128, 4, 3),
                        (64, 64, 4, 2), (64, 128, 8, 3)])
# dK/dV programs hold BLOCK_N keys and stream the active rows.
_DKDV_CONFIGS = _configs([(16, 32, 2, 2), (32, 32, 4, 2), (16, 64, 4, 2), (32, 64, 4, 2),
                          (64, 64, 4, 3), (32, 128, 8, 2)])

_tuned = {}


def _kernel(name):
    """The raw jit kernel under the interpreter, an autotuned wrapper on a GPU (built once)."""
    raw = {"dq": _bwd_dq_kernel, "dkdv": _bwd_dkdv_kernel}[name]
    if _interpreting():
        return raw, {"BLOCK_M": 16, "BLOCK_N": 16, "num_warps": 1, "num_stages": 1}
    if name not in _tuned:
        cfgs = _DQ_CONFIGS if name == "dq" else _DKDV_CONFIGS
        _tuned[name] = triton.autotune(configs=cfgs, key=_TUNE_KEY,
                                       prune_configs_by={"early_config_prune": _prune})(raw)
    return _tuned[name], {}


def _bucket(n_active):
    """Coarse active-count bucket for the autotune key (0 = unknown)."""
    return 0 if not n_active else triton.next_power_of_2(int(n_active))


def _rowmajor(t):
    return t if t.stride(-1) == 1 else t.contiguous()


def _strides(t):
    return t.stride(0), t.stride(1), t.stride(2)


def aqa_backward(do, q, k, v, o, idx, counts, kpm_u8=None, n_active=None):
    """(dq, dk, dv) from the active rows only; dq is exactly zero on inactive rows.

    idx (B, L) int32 and counts (B,) int32 from indexing.active_index; kpm_u8 (B, L) uint8 or
    None; n_active: optional host-side hint (largest active count) for the autotune key.
    """
    do, q, k, v, o = (_rowmajor(t) for t in (do, q, k, v, o))
    B, H, L, D = q.shape
    dq = torch.zeros_like(q)
    dk = torch.empty_like(k)
    dv = torch.empty_like(v)
    lse = torch.empty((B * H, L), device=q.device, dtype=torch.float32)
    delta = torch.empty_like(lse)
    block_d = max(16, triton.next_power_of_2(D))  # tl.dot needs K >= 16
    # float32 uses exact IEEE dots: it is the correctness path; tf32 would cost ~1e-3 rel error.
    prec = "ieee" if q.dtype == torch.float32 else "tf32"
    has_kpm = kpm_u8 is not None
    kpm = kpm_u8 if has_kpm else idx  # dummy pointer, never read
    common = dict(HAS_KPM=has_kpm, PREC=prec, BLOCK_D=block_d)
    scale = 1.0 / math.sqrt(D)
    nb = _bucket(n_active)

    dq_fn, fixed = _kernel("dq")
    dq_fn[lambda meta: (triton.cdiv(L, meta["BLOCK_M"]), B * H)](
        q, k, v, o, do, dq, lse, delta, idx, counts, kpm, scale,
        *_strides(q), *_strides(k), *_strides(v), *_strides(o), *_strides(do), *_strides(dq),
        B, H, L, D, nb, **common, **fixed)
    dkdv_fn, fixed = _kernel("dkdv")
    dkdv_fn[lambda meta: (triton.cdiv(L, meta["BLOCK_N"]), B * H)](
        q, k, v, do, dk, dv, lse, delta, idx, counts, kpm, scale,
        *_strides(q), *_strides(k), *_strides(v), *_strides(do), *_strides(dk), *_strides(dv),
        B, H, L, D, nb, **common, **fixed)
    return dq, dk, dv
