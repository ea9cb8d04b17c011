"""torch.autograd.Function around the Triton ActiveQueryAttention kernels."""
import torch

from . import triton_aqa
from .indexing import active_rows


class ActiveQueryAttentionFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, active, key_padding_mask):
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        o, lse = triton_aqa.aqa_forward(q, k, v, key_padding_mask)
        if any(ctx.needs_input_grad[:3]):
            idx, counts, max_count = active_rows(active)
            ctx.max_count = max_count
            ctx.save_for_backward(q, k, v, o, lse, idx.to(torch.int32).contiguous(),
                                  counts.to(torch.int32), key_padding_mask)
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse, idx, counts, kpm = ctx.saved_tensors
        dq, dk, dv = triton_aqa.aqa_backward(do.contiguous(), q, k, v, o, lse, idx, counts,
                                             ctx.max_count, kpm)
        return dq, dk, dv, None, None


def triton_aqa_attention(q, k, v, active, key_padding_mask=None):
    if not (torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)):
        # Inference: skip building the active-row index (it costs a host sync).
        return triton_aqa.aqa_forward(q.contiguous(), k.contiguous(), v.contiguous(),
                                      key_padding_mask)[0]
    return ActiveQueryAttentionFn.apply(q, k, v, active, key_padding_mask)
