"""ActiveQueryAttention: exact attention forward, backward only through active query rows.

Triton is imported lazily (only when the Triton backend runs), so TRITON_INTERPRET can be
set any time before first use.
"""
from .dispatch import active_query_attention, resolve_backend
from .reference import dense_attention, reference_aqa

__all__ = ["active_query_attention", "dense_attention", "reference_aqa", "resolve_backend"]
