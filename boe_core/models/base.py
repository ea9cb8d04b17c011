"""The adapter protocol: the only thing the sampler knows about a model.

An adapter turns token ids or input embeddings into logits aligned so that ``logits[:, i]`` is the
distribution of the token at position i (model quirks such as Dream's shift are handled here), and
owns the special ids. Weights are frozen; only input embeddings ever get gradients.

The forward is split in two so the BoE scorer can compute the head only where it needs it:
``hidden(embeds) -> h`` then ``head(h) -> logits``. Adapters whose head cannot be split
(``split_head = False``) return logits from ``hidden`` and use the identity as ``head``.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from ..errors import ConfigError


class MDMAdapter:
    name: str = "model"
    split_head: bool = True
    #: whether ``hidden`` accepts an ``active`` row set (ActiveQueryAttention)
    supports_active_rows: bool = False
    max_length: int | None = None
    task: str = "text"  # how the explorer shows the canvas: "text" or "sudoku"
    #: tokens the model expects around the text (BERT: [CLS] ... [SEP])
    prefix_ids: list = []
    suffix_ids: list = []

    def __init__(self, *, mask_id, pad_id=None, eos_id=None, extra_suppressed=(), device="cpu",
                 dtype=torch.float32, name=None):
        if mask_id is None:
            raise ConfigError("model", name or self.name,
                              "has no mask token; masked diffusion needs one (set mask_token in its tokenizer)")
        self.mask_id = int(mask_id)
        self.pad_id = None if pad_id is None else int(pad_id)
        self.eos_id = None if eos_id is None else int(eos_id)
        self.extra_suppressed = [int(i) for i in extra_suppressed]
        self.device = torch.device(device)
        self.dtype = dtype
        if name:
            self.name = name

    # --- to implement ------------------------------------------------------------------------
    def embedding_matrix(self) -> torch.Tensor:
        """(V, d) input embedding matrix."""
        raise NotImplementedError

    def hidden(self, embeds, attention_mask=None, active=None) -> torch.Tensor:
        raise NotImplementedError

    def head(self, h) -> torch.Tensor:
        return h

    def head_vjp(self, h: torch.Tensor, grad_logits: torch.Tensor) -> torch.Tensor:
        """dL/dh for rows h given dL/dlogits (a vector-Jacobian product through the head). The
        default differentiates the head; a linear head can do it with one matmul."""
        with torch.enable_grad():
            x = h.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.head(x), x, grad_outputs=grad_logits.to(x.dtype))
        return g

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids, skip_special_tokens=True) -> str:
        raise NotImplementedError

    def id_to_token(self, i: int) -> str:
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------------------
    @property
    def suppressed_ids(self) -> list[int]:
        """Ids never proposed: the mask itself and padding (plus adapter-specific extras).
        Padding that doubles as end-of-text (LLaDA, Dream: pad = eos = <|endoftext|>) stays
        allowed, since those models end an answer by filling the tail with it."""
        ids = {self.mask_id, *self.extra_suppressed}
        if self.pad_id is not None and self.pad_id != self.eos_id:
            ids.add(self.pad_id)
        return sorted(ids)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(ids, self.embedding_matrix())

    def logits(self, ids, attention_mask=None, active=None) -> torch.Tensor:
        return self.head(self.hidden(self.embed(ids), attention_mask, active))

    def tokens(self, ids) -> list[str]:
        return [self.id_to_token(int(i)) for i in ids]

    def describe(self) -> dict:
        return {"name": self.name, "class": type(self).__name__, "mask_id": self.mask_id,
                "pad_id": self.pad_id, "max_length": self.max_length, "device": str(self.device),
                "dtype": str(self.dtype).replace("torch.", "")}


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode and no parameter ever requires grad: BoE only differentiates input embeddings."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@contextmanager
def replace_module_output(module: torch.nn.Module, value: torch.Tensor):
    """Make ``module`` return ``value`` for the duration of the block (a forward hook).

    This injects soft input embeddings into any Hugging Face model through its input-embedding
    module, without model-specific keywords such as ``inputs_embeds``.
    """
    handle = module.register_forward_hook(lambda mod, args, out: value)
    try:
        yield
    finally:
        handle.remove()
