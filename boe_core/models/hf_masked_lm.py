"""Any Hugging Face ``AutoModelForMaskedLM`` (BERT, RoBERTa, DistilBERT, ModernBERT, ...) used as
an iterative denoiser. Soft embeddings enter through a forward hook on the model's input-embedding
module, so no model-specific keyword is needed."""
from __future__ import annotations

import torch

from .base import MDMAdapter, freeze, replace_module_output


class HFAdapter(MDMAdapter):
    """Shared plumbing for transformers models: tokenizer, embedding hook, dummy input ids."""

    split_head = False  # the head is model-specific; hidden() returns logits

    def __init__(self, model, tokenizer, *, mask_id, name, device="cpu", dtype=torch.float32,
                 extra_suppressed=()):
        self.model = freeze(model.to(device=device, dtype=dtype))
        self.tokenizer = tokenizer
        cfg = model.config
        self.max_length = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "max_sequence_length", None)
        pad = getattr(tokenizer, "pad_token_id", None)
        super().__init__(mask_id=mask_id, pad_id=pad, eos_id=getattr(tokenizer, "eos_token_id", None),
                         extra_suppressed=extra_suppressed, device=device, dtype=dtype, name=name)

    def embedding_matrix(self):
        return self.model.get_input_embeddings().weight

    def _dummy_ids(self, embeds, attention_mask):
        """Input ids for the call whose embedding output the hook replaces. Padding stays padding,
        since some models (RoBERTa) derive positions from the ids."""
        B, N = embeds.shape[:2]
        ids = torch.full((B, N), self.mask_id, dtype=torch.long, device=embeds.device)
        if attention_mask is not None and self.pad_id is not None:
            ids = ids.masked_fill(~attention_mask.bool(), self.pad_id)
        return ids

    def _call(self, ids, attention_mask):
        kw = {}
        if attention_mask is not None:
            kw["attention_mask"] = attention_mask.long()
            if self._positions_from_mask:  # left padding must not shift a row's absolute positions
                kw["position_ids"] = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        return self.model(input_ids=ids, **kw).logits

    @property
    def _positions_from_mask(self) -> bool:
        """Whether to number positions from the attention mask: models with learned absolute
        positions (BERT) otherwise count the left padding too. RoBERTa-style embeddings derive
        positions from the pad ids themselves (their `padding_idx`), so they are left alone."""
        import inspect

        if not hasattr(self, "_pos_from_mask"):
            emb = getattr(getattr(self.model, "base_model", self.model), "embeddings", None)
            takes = "position_ids" in inspect.signature(self.model.forward).parameters
            self._pos_from_mask = takes and getattr(emb, "padding_idx", None) is None
        return self._pos_from_mask

    def hidden(self, embeds, attention_mask=None, active=None):
        from .hf_aqa import active_rows

        with replace_module_output(self.model.get_input_embeddings(), embeds), \
                active_rows(active if self.supports_active_rows else None):
            return self._call(self._dummy_ids(embeds, attention_mask), attention_mask)

    def encode(self, text):
        return self.tokenizer.encode(text, add_special_tokens=False)

    def decode(self, ids, skip_special_tokens=True):
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def id_to_token(self, i):
        t = self.tokenizer.convert_ids_to_tokens(int(i))
        return t if t is not None else f"<{int(i)}>"


class HFMaskedLMAdapter(HFAdapter):
    def __init__(self, model, tokenizer, name="hf-masked-lm", device="cpu", dtype=torch.float32):
        special = [i for i in getattr(tokenizer, "all_special_ids", []) if i is not None]
        super().__init__(model, tokenizer, mask_id=getattr(tokenizer, "mask_token_id", None), name=name,
                         device=device, dtype=dtype, extra_suppressed=special)
        from .hf_aqa import enable

        # Sparse backward where the model dispatches attention through transformers' interface.
        self.supports_active_rows = enable(self.model)
        # BERT-style models expect [CLS] ... [SEP] around the text.
        self.prefix_ids = [tokenizer.cls_token_id] if getattr(tokenizer, "cls_token_id", None) is not None else []
        self.suffix_ids = [tokenizer.sep_token_id] if getattr(tokenizer, "sep_token_id", None) is not None else []
