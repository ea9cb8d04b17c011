"""Adapter for the project's own TinyMDM checkpoints (the shipped default models)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..tokenization import MDMTokenizer, char_tokenizer
from .base import MDMAdapter, freeze
from .tiny_mdm import TinyMDM, TinyMDMConfig


class TinyMDMAdapter(MDMAdapter):
    split_head = True
    supports_active_rows = True

    def __init__(self, model: TinyMDM, tokenizer: MDMTokenizer, name="tiny", device="cpu",
                 dtype=torch.float32):
        self.model = freeze(model.to(device=device, dtype=dtype))
        self.tokenizer = tokenizer
        self.max_length = model.config.max_length
        self.task = model.config.task
        self.attention_head_dim = model.config.d_model // model.config.n_heads  # for the AQA crossover
        super().__init__(mask_id=tokenizer.mask_id, pad_id=tokenizer.pad_id, eos_id=tokenizer.eos_id,
                         extra_suppressed=[i for i in [tokenizer.bos_id] if i is not None],
                         device=device, dtype=dtype, name=name)

    @classmethod
    def from_pretrained(cls, path, name=None, device="cpu", dtype=torch.float32):
        path = Path(path)
        model = TinyMDM.from_pretrained(path, device=device, dtype=dtype)
        return cls(model, MDMTokenizer.load(path), name=name or path.name, device=device, dtype=dtype)

    @classmethod
    def random(cls, symbols="abcdefghij", d_model=32, n_layers=2, n_heads=2, max_length=64, seed=0,
               device="cpu", dtype=torch.float32):
        """A small randomly initialised model over single-character tokens, for tests and benchmarks."""
        tok = char_tokenizer(list(symbols), {"mask_token": "[MASK]", "pad_token": "[PAD]"})
        torch.manual_seed(seed)
        cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=max_length, d_model=d_model,
                            n_layers=n_layers, n_heads=n_heads)
        return cls(TinyMDM(cfg), tok, name="random-tiny", device=device, dtype=dtype)

    def embedding_matrix(self):
        return self.model.tok_emb.weight

    def hidden(self, embeds, attention_mask=None, active=None):
        return self.model.hidden(embeds, key_padding_mask=attention_mask, active=active)

    def head(self, h):
        return self.model.head(h)

    def head_vjp(self, h, grad_logits):
        # the head is h @ E^T (tied), so its vector-Jacobian product is one matmul, no head forward
        return grad_logits.to(h.dtype) @ self.model.tok_emb.weight

    def encode(self, text):
        return self.tokenizer.encode(text)

    def decode(self, ids, skip_special_tokens=True):
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def id_to_token(self, i):
        return self.tokenizer.id_to_token(int(i))
