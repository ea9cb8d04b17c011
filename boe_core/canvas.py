"""Building canvases: a prompt followed by masks, or any canvas with masks anywhere (infilling,
Sudoku). Fixed positions are those not masked at the start; they never change."""
from __future__ import annotations

import torch

from .errors import ConfigError

MAX_PROMPT_CHARS = 20_000


def prompt_canvas(adapter, prompts, gen_length: int):
    """Left-padded (ids, attention_mask) for one or more prompts followed by `gen_length` masks."""
    if isinstance(prompts, str):
        prompts = [prompts]
    if not prompts:
        raise ConfigError("prompt", prompts, "needs at least one prompt")
    if not isinstance(gen_length, int) or isinstance(gen_length, bool) or gen_length < 1:
        raise ConfigError("gen_length", gen_length, "must be a positive integer")
    encoded = []
    for p in prompts:
        if not isinstance(p, str):
            raise ConfigError("prompt", p, "must be a string")
        if len(p) > MAX_PROMPT_CHARS:
            raise ConfigError("prompt", f"<{len(p)} characters>", f"is longer than {MAX_PROMPT_CHARS} characters")
        encoded.append(list(adapter.prefix_ids) + adapter.encode(p))
    suffix = list(adapter.suffix_ids)
    n = max(len(e) for e in encoded) + gen_length + len(suffix)
    if adapter.max_length is not None and n > adapter.max_length:
        raise ConfigError("prompt", f"<{n - gen_length - len(suffix)} tokens>",
                          f"prompt + gen_length = {n} tokens exceeds the model's context of {adapter.max_length}")
    pad = adapter.pad_id if adapter.pad_id is not None else adapter.mask_id
    ids = torch.full((len(encoded), n), pad, dtype=torch.long)
    am = torch.zeros((len(encoded), n), dtype=torch.bool)
    for i, e in enumerate(encoded):
        end = n - len(suffix)
        start = end - gen_length - len(e)
        ids[i, start:end - gen_length] = torch.tensor(e, dtype=torch.long)
        ids[i, end - gen_length:end] = adapter.mask_id
        ids[i, end:] = torch.tensor(suffix, dtype=torch.long)
        am[i, start:] = True
    needs_mask = not bool(am.all())
    return ids, (am if needs_mask else None)


def check_canvas(adapter, ids: torch.Tensor, attention_mask=None) -> torch.Tensor:
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or ids.numel() == 0:
        raise ConfigError("canvas", tuple(ids.shape), "must be a non-empty (batch, length) tensor")
    if ids.dtype not in (torch.int64, torch.int32):
        raise ConfigError("canvas", str(ids.dtype), "must hold integer token ids")
    if adapter.max_length is not None and ids.shape[1] > adapter.max_length:
        raise ConfigError("canvas", f"<{ids.shape[1]} tokens>",
                          f"exceeds the model's context of {adapter.max_length}")
    V = adapter.embedding_matrix().shape[0]
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= V:
        raise ConfigError("canvas", hi if hi >= V else lo, f"token ids must lie in [0, {V})")
    if attention_mask is not None and tuple(attention_mask.shape) != tuple(ids.shape):
        raise ConfigError("attention_mask", tuple(attention_mask.shape), f"must match the canvas {tuple(ids.shape)}")
    return ids.long()
