"""ActiveQueryAttention inside Hugging Face models, through transformers' attention interface.

Models whose attention layers dispatch through ``ALL_ATTENTION_FUNCTIONS`` (BERT, RoBERTa,
DistilBERT, ModernBERT, Llama/Qwen-style models in transformers 5.x; flag
``_supports_attention_backend``) can run with ``attn_implementation="boe_aqa"``. The active row set
travels in a context variable set by the adapter around each forward, so no model code changes.
Causal or non-padding masks fall back to SDPA (a dense backward): AQA is bidirectional.

Remote-code models that call their own ``_scaled_dot_product_attention(q, k, v, attn_mask, ...)``
method (LLaDA's blocks) get it replaced on each block *instance* by ``enable_block_sdpa``: their
file is never edited.
"""
from __future__ import annotations

import contextvars
import math
from contextlib import contextmanager

import torch

NAME = "boe_aqa"
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("boe_aqa_active", default=None)
_registered = False


@contextmanager
def active_rows(active: torch.Tensor | None):
    token = _ACTIVE.set(active)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _key_padding(attention_mask, B, L):
    """(B, L) bool key mask from a 4-D mask that only hides padded keys, else None (use SDPA)."""
    if attention_mask is None:
        return torch.ones(B, L, dtype=torch.bool)
    m = attention_mask
    if m.dim() == 2 and tuple(m.shape) == (B, L):
        return m.bool()
    if m.dim() != 4 or m.shape[-1] != L:
        return None
    keep = m if m.dtype == torch.bool else m > torch.finfo(m.dtype).min / 2
    keep = keep.expand(B, -1, keep.shape[-2], L)
    first = keep[:, :, :1, :]
    if not bool((keep == first).all()):  # causal or otherwise row-dependent: not a padding mask
        return None
    return first[:, 0, 0, :]


def aqa_attention_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                          is_causal=None, **kwargs):
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    active = _ACTIVE.get()
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", False)
    B, H, L, D = query.shape
    kpm = None if (active is None or causal or query.shape[2] != key.shape[2]) else \
        _key_padding(attention_mask, B, L)
    if kpm is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                      dropout=dropout, is_causal=is_causal, **kwargs)
    from kernels import active_query_attention

    n_rep = H // key.shape[1]
    key, value = repeat_kv(key, n_rep), repeat_kv(value, n_rep)
    if scaling is not None:  # the kernel scales by 1/sqrt(D); fold any other scale into q
        query = query * (scaling * math.sqrt(D))
    out = active_query_attention(query, key, value, active=active.to(query.device),
                                 key_padding_mask=kpm.to(query.device))
    return out.transpose(1, 2).contiguous(), None


def _block_sdpa(original):
    """A drop-in for a block's ``_scaled_dot_product_attention`` that runs AQA when asked."""
    def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
        active = _ACTIVE.get()
        B, H, L, D = q.shape
        if active is None or is_causal or dropout_p or k.shape[2] != L:
            return original(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)
        kpm = None if attn_mask is None else _key_padding(attn_mask, B, L)
        if attn_mask is not None and kpm is None:  # not a padding mask: keep the model's path
            return original(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)
        from kernels import active_query_attention

        if k.shape[1] != H:  # grouped-query attention: one K/V head serves H / H_kv query heads
            k = k.repeat_interleave(H // k.shape[1], dim=1)
            v = v.repeat_interleave(H // v.shape[1], dim=1)
        return active_query_attention(q, k, v, active=active.to(q.device),
                                      key_padding_mask=None if kpm is None else kpm.to(q.device))
    return sdpa


def enable_block_sdpa(model) -> bool:
    """Route every submodule's ``_scaled_dot_product_attention`` method (LLaDA's blocks) through
    AQA by overriding it on the instance. Returns whether any block was switched."""
    switched = False
    for mod in model.modules():
        original = getattr(type(mod), "_scaled_dot_product_attention", None)
        if callable(original):
            mod._scaled_dot_product_attention = _block_sdpa(original.__get__(mod))
            switched = True
    return switched


def register() -> None:
    global _registered
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(NAME, aqa_attention_forward)
        _registered = True


def enable(model) -> bool:
    """Switch a transformers model to AQA attention when it supports the interface."""
    if not getattr(model, "_supports_attention_backend", False):
        return False
    register()
    try:
        model.set_attn_implementation(NAME)
    except (ValueError, AttributeError, NotImplementedError):
        return False
    return True
