"""Does a text model write language? The issue-9 / issue-22 targets, for any text model and val set.

Any model `load_model` opens (the shipped `kjv` TinyMDM, the `english` BERT, a folder); the val set
is `--corpus kjv` (KJV verses) or `--corpus austen` (Austen paragraphs, `boe_core.tasks.english`).
A BERT-style model gets its [CLS] ... [SEP] around every canvas (the adapter's prefix/suffix ids),
as the explorer gives it; a TinyMDM gets the trailing [EOS] its training appended.

1. Val masked-token accuracy at mask ratios 0.15 / 0.5 / 0.9 (random word tokens of each verse
   masked, ONE forward pass, argmax; `boe_core.tasks.kjv.masked_token_accuracy`). A model that
   reads its neighbours scores clearly higher at 0.15 than at 0.9. Target: >= 0.30 at 0.15.
2. Continuations: the first --prompt-words words of --n-gen held-out val verses, --gen-length
   tokens, confidence policy, 1 token per step, through the project's sampler (`boe_core.generate`).
   Prompts of equal token length are batched together, so no row is padded (a model with absolute
   positions sees the prompt where training put it). Reported:
   * repeat_rate: generated tokens equal to the token just before them (the first one is compared
     with the prompt's last token). Target: < 0.10.
   * distinct_2: unique word bigrams / all word bigrams over all continuations (the bench's
     corpus-level `distinct_n`), and the mean of the per-continuation value. Target: >= 0.5.
3. Single-mask probes (../shared/TEXT_MODEL_NOTES.md): top-3 tokens at one [MASK].

  python -m boe_core.bench eval-text --model assets/models/kjv --out results/kjv/eval_val_before.json
  python -m boe_core.bench eval-text --model /tmp/kjv2-export --out results/kjv/eval_val_after.json
  python -m boe_core.bench eval-text --model english --corpus austen --out results/english/eval_val_austen.json
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from ... import generate, load_model
from ..textmetrics import distinct_n
from ...models.tiny_adapter import TinyMDMAdapter
from ...tasks.english import CORPORA, load_texts
from ...tasks.kjv import APPEND_EOS, MASK_RATIOS, masked_token_accuracy

PROBES = {"kjv": ["And the LORD spake unto [MASK], saying,",
                  "And God said, Let there be [MASK]: and there was light."],
          "austen": ["It is a truth universally [MASK], that a single man in possession of a good fortune, "
                     "must be in want of a wife.",
                     "\"My dear Mr. Bennet,\" said his [MASK] to him one day."]}


def framed(adapter, ids: list[int]) -> list[int]:
    """The canvas the model was trained on around `ids`: BERT's [CLS] ... [SEP], or a TinyMDM's
    trailing [EOS]."""
    tail = [adapter.tokenizer.eos_id] if isinstance(adapter, TinyMDMAdapter) and APPEND_EOS \
        and adapter.tokenizer.eos_id is not None else []
    return list(adapter.prefix_ids) + ids + list(adapter.suffix_ids) + tail


@torch.no_grad()
def adapter_masked_token_accuracy(adapter, texts, ratio: float, rng: random.Random, batch_size: int = 32) -> dict:
    """`masked_token_accuracy`'s protocol through any adapter: round(ratio * n) (at least 1) random
    word tokens of each text masked (the same rng draws), ONE forward pass, argmax; the frame
    tokens stay visible, texts are cut to the model's context."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio={ratio!r}: must be in (0, 1]")
    room = (adapter.max_length or 10**9) - len(framed(adapter, []))
    pre = len(adapter.prefix_ids)
    examples = []
    for text in texts:
        ids = adapter.encode(text)[:room]
        if not ids:
            continue
        k = max(1, round(ratio * len(ids)))
        examples.append((framed(adapter, ids), [pre + p for p in rng.sample(range(len(ids)), k)]))
    correct = total = 0
    pad = adapter.pad_id if adapter.pad_id is not None else adapter.mask_id
    for b in range(0, len(examples), batch_size):
        chunk = examples[b:b + batch_size]
        L = max(len(ids) for ids, _ in chunk)
        tgt = torch.full((len(chunk), L), pad, dtype=torch.long)
        att = torch.zeros(len(chunk), L, dtype=torch.bool)
        masked = torch.zeros(len(chunk), L, dtype=torch.bool)
        for r, (ids, pos) in enumerate(chunk):
            tgt[r, :len(ids)] = torch.tensor(ids)
            att[r, :len(ids)] = True
            masked[r, pos] = True
        logits = adapter.logits(tgt.masked_fill(masked, adapter.mask_id).to(adapter.device), att.to(adapter.device))
        correct += int((logits[masked].argmax(-1).cpu() == tgt[masked]).sum())
        total += int(masked.sum())
    return {"ratio": ratio, "accuracy": correct / max(total, 1), "n_tokens": total, "n_verses": len(examples)}


def token_prompts(adapter, texts, n_tokens: int, n: int) -> list[list[int]]:
    """The first `n_tokens` model tokens of each of the first `n` texts that are longer than that
    (texts in the split's order; shorter ones are skipped, never joined, so a prompt is one verse or
    paragraph)."""
    out = []
    for t in texts:
        ids = adapter.encode(t)
        if len(ids) > n_tokens:
            out.append(ids[:n_tokens])
            if len(out) == n:
                break
    if len(out) < n:
        raise SystemExit(f"--prompt-tokens {n_tokens}: only {len(out)} texts of the split are longer than that")
    return out


def continuations(adapter, texts, prompt_words: int, gen_length: int, seed: int,
                  block_length: int | None = None, temperature: float = 0.0, policy: str = "confidence",
                  prompt_tokens: int | None = None, n: int | None = None) -> dict:
    """Continue prompts: the first `prompt_words` words of each text, or (`prompt_tokens`) the first
    that many tokens of each of the first `n` texts longer than that."""
    if prompt_tokens:
        enc = token_prompts(adapter, texts, prompt_tokens, n or len(texts))
        prompts = [adapter.decode(e) for e in enc]
    else:
        prompts = [" ".join(t.split()[:prompt_words]) for t in texts]
        enc = [adapter.encode(p) for p in prompts]
    pre, suf = list(adapter.prefix_ids), list(adapter.suffix_ids)
    gens: list = [None] * len(prompts)
    repeats = total = 0
    t0 = time.perf_counter()
    for n in sorted({len(e) for e in enc}):  # one batch per prompt length: no padding
        rows = [i for i, e in enumerate(enc) if len(e) == n]
        ids = torch.tensor([pre + enc[i] + [adapter.mask_id] * gen_length + suf for i in rows])
        trace = generate(adapter, canvas=ids, policy=policy, steps=gen_length, seed=seed,
                         block_length=block_length, temperature=temperature)
        final = torch.as_tensor(trace.final_canvas)
        a = len(pre) + n
        out = final[:, a:a + gen_length]
        prev = final[:, a - 1:a + gen_length - 1]
        repeats += int((out == prev).sum())
        total += out.numel()
        for k, i in enumerate(rows):
            gens[i] = adapter.decode(out[k].tolist())
    secs = time.perf_counter() - t0
    per = [distinct_n([g], 2) for g in gens]
    per = [x for x in per if x == x]  # NaN: fewer than two words
    return {"n": len(prompts), "prompt_words": None if prompt_tokens else prompt_words,
            "prompt_tokens": prompt_tokens, "gen_length": gen_length, "policy": policy,
            "steps": gen_length, "block_length": block_length or gen_length, "temperature": temperature,
            "repeat_rate": repeats / max(total, 1), "distinct_2": distinct_n(gens, 2),
            "distinct_2_mean_per_sample": sum(per) / max(len(per), 1), "distinct_1": distinct_n(gens, 1),
            "seconds": round(secs, 1), "seconds_per_example": round(secs / max(len(prompts), 1), 3),
            "examples": [{"prompt": p, "continuation": g} for p, g in zip(prompts[:8], gens[:8])]}


@torch.no_grad()
def probe(adapter, text: str, k: int = 3) -> dict:
    before, _, after = text.partition("[MASK]")
    head = adapter.encode(before.rstrip())
    ids = framed(adapter, head + [adapter.mask_id] + adapter.encode(after))
    logits = adapter.logits(torch.tensor([ids], device=adapter.device))[0, len(adapter.prefix_ids) + len(head)].float()
    special = getattr(adapter.tokenizer, "special_ids", None) or adapter.suppressed_ids
    logits[[int(i) for i in special]] = -float("inf")
    p = logits.softmax(-1)
    top = p.topk(k)
    return {"text": text, "top": [{"token": adapter.decode([int(i)]).strip() or adapter.id_to_token(int(i)),
                                   "p": round(float(v), 4)} for v, i in zip(top.values, top.indices)]}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench eval-text", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="kjv", help="shipped name or folder")
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--corpus", default="kjv", choices=list(CORPORA), help="whose val/test texts")
    ap.add_argument("--n-mask", type=int, default=500, help="verses for masked-token accuracy (0: skip it)")
    ap.add_argument("--n-gen", type=int, default=100, help="prompts to continue")
    ap.add_argument("--prompt-words", type=int, default=4)
    ap.add_argument("--prompt-tokens", type=int, default=None,
                    help="prompts of exactly this many model tokens instead: the first N tokens of each of "
                         "the first --n-gen val texts longer than N (the issue's '100 val prompts of 24 tokens')")
    ap.add_argument("--gen-length", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--block-length", type=int, default=None,
                    help="semi-autoregressive blocks (LLaDA style); default: one block")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--policy", default="confidence", help="decoding order of the continuations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON summary (default: print only)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    adapter = load_model(args.model)
    texts = load_texts(args.corpus, args.split)
    res = {"model": str(args.model), "corpus": args.corpus, "split": args.split, "params": sum(p.numel() for p in adapter.model.parameters()),
           "pos_encoding": getattr(adapter.model.config, "pos_encoding", "learned"), "masked_token_accuracy": {}}
    t0 = time.perf_counter()
    for r in MASK_RATIOS if args.n_mask > 0 else ():  # --n-mask 0: continuations only
        rng = random.Random(args.seed * 1000 + int(r * 100))
        m = (masked_token_accuracy(adapter.model, adapter.tokenizer, texts[:args.n_mask], r, rng)
             if isinstance(adapter, TinyMDMAdapter) else adapter_masked_token_accuracy(adapter, texts[:args.n_mask], r, rng))
        res["masked_token_accuracy"][str(r)] = m
        print(f"val masked acc @{r}: {m['accuracy']:.4f} ({m['n_tokens']} tokens, {m['n_verses']} verses)", flush=True)
    gen_texts = texts if args.prompt_tokens else texts[:args.n_gen]  # token prompts skip short texts
    res["continuations"] = c = continuations(adapter, gen_texts, args.prompt_words, args.gen_length, args.seed,
                                             args.block_length, args.temperature, args.policy, args.prompt_tokens,
                                             n=args.n_gen)
    print(f"continuations ({c['n']} prompts of {c['prompt_tokens'] or c['prompt_words']} "
          f"{'tokens' if c['prompt_tokens'] else 'words'}, {c['gen_length']} tokens, {c['policy']}, 1/step, blocks of "
          f"{c['block_length']}, T={c['temperature']}): repeat_rate "
          f"{c['repeat_rate']:.3f}, distinct-2 {c['distinct_2']:.3f} (mean per sample "
          f"{c['distinct_2_mean_per_sample']:.3f}), {c['seconds_per_example']} s/example", flush=True)
    for e in c["examples"][:3]:
        print(f"  {e['prompt']} | {e['continuation']}")
    res["probes"] = [probe(adapter, t) for t in PROBES[args.corpus]]
    for p in res["probes"]:
        print(f"probe {p['text']!r}: " + " / ".join(f"{t['token']} ({t['p']:.3f})" for t in p["top"]))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["threads"] = args.threads
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
