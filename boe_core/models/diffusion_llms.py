"""LLaDA and Dream: 7-8B masked diffusion LMs loaded with ``trust_remote_code``.

Written against their published interfaces (``model(input_ids, attention_mask).logits``) and
checked on tiny random models built from their real modelling files
(tests/test_real_model_code.py; docs/real-models.md says what was verified).
"""
from __future__ import annotations

import torch

from .hf_masked_lm import HFAdapter

LLADA_MASK_TOKEN = "<|mdm_mask|>"


def find_mask_id(model, tokenizer, token_name=None):
    """The mask id from the config, else the tokenizer, else a named token; never a magic number."""
    for src in (getattr(model.config, "mask_token_id", None), getattr(tokenizer, "mask_token_id", None)):
        if src is not None:
            return int(src)
    if token_name is not None:
        i = tokenizer.convert_tokens_to_ids(token_name)
        if i is not None and i != getattr(tokenizer, "unk_token_id", None):
            return int(i)
    return None


class LLaDAAdapter(HFAdapter):
    """LLaDA-8B (Base/Instruct) and LLaDA-1.5: plain bidirectional masked prediction."""

    def __init__(self, model, tokenizer, name="llada", device="cpu", dtype=torch.bfloat16):
        super().__init__(model, tokenizer, mask_id=find_mask_id(model, tokenizer, LLADA_MASK_TOKEN),
                         name=name, device=device, dtype=dtype)
        from .hf_aqa import enable_block_sdpa

        # LLaDA's blocks call their own _scaled_dot_product_attention: AQA replaces it per instance.
        self.supports_active_rows = enable_block_sdpa(self.model)


class DreamAdapter(HFAdapter):
    """Dream-7B: initialised from an autoregressive LM, it predicts token i from position i-1, so the
    logits are shifted right by one to align them with the positions they describe."""

    def __init__(self, model, tokenizer, name="dream", device="cpu", dtype=torch.bfloat16):
        super().__init__(model, tokenizer, mask_id=find_mask_id(model, tokenizer), name=name,
                         device=device, dtype=dtype)

    def _call(self, ids, attention_mask):
        shifted_from_pad = None
        if attention_mask is None or bool(attention_mask.all()):
            logits = self.model(input_ids=ids, attention_mask="full").logits
        else:  # padded batch: a bidirectional 4-D mask over real tokens and positions that skip padding
            am = attention_mask.bool()
            pos = am.long().cumsum(-1) - 1
            mask4 = am[:, None, None, :] & am[:, None, :, None]
            logits = self.model(input_ids=ids, attention_mask=mask4, position_ids=pos.clamp_min(0)).logits
            shifted_from_pad = am & (pos == 0)  # an item's first real token (after left padding)
        shifted = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
        if shifted_from_pad is not None:
            # The first real token has no predecessor: like position 0 unpadded, it keeps its own
            # row instead of inheriting a padding row's logits.
            shifted = torch.where(shifted_from_pad[..., None], logits, shifted)
        return shifted
