"""Dense attention through torch's fused SDPA, with a key-padding mask that cannot give NaN."""
import torch.nn.functional as F


def sdpa_attention(q, k, v, key_padding_mask=None):
    """q, k, v (B, H, L, D); key_padding_mask (B, L) bool, True = real key. Items with no real
    key return zeros (SDPA would give NaN rows)."""
    if key_padding_mask is None:
        return F.scaled_dot_product_attention(q, k, v)
    # A batch item with no real key would give NaN rows: let it attend everywhere, then zero it.
    empty = ~key_padding_mask.any(dim=1)
    attn_mask = (key_padding_mask | empty[:, None])[:, None, None, :]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    return out.masked_fill(empty[:, None, None, None], 0.0)
