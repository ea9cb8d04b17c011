"""ActiveQueryAttention: exact attention forward, backward only through active query rows.

Triton is imported lazily (only when the Triton backend runs), so TRITON_INTERPRET can be
set any time before first use.
"""
from .crossover import aqa_worth_it, crossover_rho
from .dispatch import active_query_attention, resolve_backend
from .reference import dense_attention, reference_aqa

__all__ = ["active_query_attention", "aqa_worth_it", "crossover_rho", "dense_attention",
           "reference_aqa", "resolve_backend"]
