"""The BoE objective: the total entropy of the probe positions, differentiable in the input
embeddings (model weights are frozen, so autograd only follows the input path)."""
from __future__ import annotations

import torch

from ..numerics import entropy_from_logits, suppress


def probe_entropy(adapter, hidden: torch.Tensor, probe: torch.Tensor) -> torch.Tensor:
    """(B,) F = sum of H(pi_j) over probe positions j, from hidden states (or logits when the
    adapter's head is not split). Only probe rows go through the head."""
    rows = hidden[probe]
    logits = adapter.head(rows) if adapter.split_head else rows
    ent = entropy_from_logits(suppress(logits, adapter.suppressed_ids))
    row_of = probe.nonzero()[:, 0]
    return torch.zeros(probe.shape[0], dtype=ent.dtype, device=ent.device).index_add(0, row_of, ent)


def masked_entropy_objective(adapter, embeds, probe, attention_mask=None, active=None) -> torch.Tensor:
    """(B,) F evaluated at the given input embeddings (grad flows if `embeds` requires it)."""
    return probe_entropy(adapter, adapter.hidden(embeds, attention_mask, active), probe)


def soft_embeddings(adapter, log_probs: torch.Tensor, tau_s: float) -> torch.Tensor:
    """Expected embedding under the (sharpened) predictive distribution: sum_v pi(v)^(1/tau) E_v.

    log_probs: (n, V) float32 with suppressed ids at -inf. Vocabulary rows beyond the embedding
    matrix (padded logit heads) are dropped and the rest renormalised.
    """
    E = adapter.embedding_matrix()
    V = min(E.shape[0], log_probs.shape[-1])
    w = torch.softmax(log_probs[:, :V] / tau_s, dim=-1)
    acc = torch.promote_types(E.dtype, torch.float32)
    return (w.to(acc) @ E[:V].to(acc)).to(E.dtype)
