"""torch.autograd.Function: SDPA forward (exact, fused) + the Triton active-row backward."""
import torch

from . import triton_aqa
from .indexing import active_index
from .sdpa import sdpa_attention


class ActiveQueryAttentionFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, active, key_padding_mask, n_active):
        # The forward is ordinary SDPA, so AQA's outputs equal the dense path's bit for bit;
        # the backward recomputes the log-sum-exp of the active rows only.
        o = sdpa_attention(q, k, v, key_padding_mask)
        if any(ctx.needs_input_grad[:3]):
            idx, counts = active_index(active)  # no host sync
            kpm = None if key_padding_mask is None else key_padding_mask.to(torch.uint8)
            ctx.n_active = n_active
            ctx.has_kpm = kpm is not None
            ctx.save_for_backward(q, k, v, o, idx, counts, *([kpm] if ctx.has_kpm else []))
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, idx, counts, *rest = ctx.saved_tensors
        dq, dk, dv = triton_aqa.aqa_backward(do, q, k, v, o, idx, counts,
                                             rest[0] if ctx.has_kpm else None, ctx.n_active)
        return dq, dk, dv, None, None, None


def triton_aqa_attention(q, k, v, active, key_padding_mask=None, n_active=None):
    if not (torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)):
        return sdpa_attention(q, k, v, key_padding_mask)  # inference: nothing to save
    return ActiveQueryAttentionFn.apply(q, k, v, active, key_padding_mask, n_active)
