"""PyTorch reference implementations: plain dense attention and ActiveQueryAttention."""
import torch

from .indexing import active_rows


def dense_attention(q, k, v, key_padding_mask=None):
    """Bidirectional softmax attention with a float32 (or float64) softmax.

    q: (B, H, Lq, D); k, v: (B, H, Lk, D); key_padding_mask: (B, Lk) bool, True = real key.
    Query rows with no real key return zeros (and zero gradient) instead of NaN.
    """
    scale = q.shape[-1] ** -0.5
    ct = torch.promote_types(q.dtype, torch.float32)  # float64 stays float64 (finite differences)
    # Scaling q (L*D) rather than the scores (L*L) saves a full pass in forward and backward.
    s = torch.matmul(q.to(ct) * scale, k.to(ct).transpose(-1, -2))
    if key_padding_mask is None:
        p = torch.softmax(s, dim=-1)
    else:
        keep = key_padding_mask[:, None, None, :]
        # finfo.min (not -inf) keeps fully padded rows finite; the second fill zeroes them.
        s = s.masked_fill(~keep, torch.finfo(s.dtype).min)
        p = torch.softmax(s, dim=-1).masked_fill(~keep, 0.0)
    return torch.matmul(p, v.to(ct)).to(q.dtype)


def reference_aqa(q, k, v, active, key_padding_mask=None):
    """ActiveQueryAttention in plain PyTorch.

    Forward values equal dense_attention for every row. Only the rows with active[b, i]
    keep a graph (to q_i and all of K, V), so backward costs O(|A| * L * D).
    """
    with torch.no_grad():
        out = dense_attention(q, k, v, key_padding_mask)
    if not (torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)):
        return out

    B, H, _, D = q.shape
    idx, counts, m = active_rows(active)
    gidx = idx[:, None, :, None].expand(B, H, m, D)
    rec = dense_attention(q.gather(2, gidx), k, v, key_padding_mask)  # (B, H, m, D)
    # Padding slots (j >= counts[b]) point at distinct inactive rows; cut their graph.
    valid = (torch.arange(m, device=q.device)[None, :] < counts[:, None])[:, None, :, None]
    # rec - rec.detach() is exactly zero but carries rec's graph: the forward stays bitwise
    # equal to the no-grad dense output while the gradient flows through the active rows.
    live = torch.where(valid, rec - rec.detach(), torch.zeros_like(rec))
    return out.scatter_add(2, gidx, live)
