#!/usr/bin/env python
"""Does the KJV text model write language? The issue-9 targets, before and after a retrain.

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

  python scripts/eval_kjv_text.py --model assets/models/kjv --out results/kjv_before.json
  python scripts/eval_kjv_text.py --model /tmp/kjv2-export --out results/kjv_after.json
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from boe_core import generate, load_model
from boe_core.bench.textmetrics import distinct_n
from boe_core.tasks.kjv import MASK_RATIOS, load_texts, masked_token_accuracy

ROOT = Path(__file__).resolve().parents[1]
PROBES = ["And the LORD spake unto [MASK], saying,", "And God said, Let there be [MASK]: and there was light."]


def continuations(adapter, texts, prompt_words: int, gen_length: int, seed: int,
                  block_length: int | None = None, temperature: float = 0.0, policy: str = "confidence") -> dict:
    tok = adapter.tokenizer
    prompts = [" ".join(t.split()[:prompt_words]) for t in texts]
    enc = [adapter.encode(p) for p in prompts]
    gens: list = [None] * len(prompts)
    repeats = total = 0
    t0 = time.perf_counter()
    for n in sorted({len(e) for e in enc}):  # one batch per prompt length: no padding
        rows = [i for i, e in enumerate(enc) if len(e) == n]
        ids = torch.tensor([enc[i] + [adapter.mask_id] * gen_length for i in rows])
        trace = generate(adapter, canvas=ids, policy=policy, steps=gen_length, seed=seed,
                         block_length=block_length, temperature=temperature)
        final = torch.as_tensor(trace.final_canvas)
        out = final[:, n:]
        prev = final[:, n - 1:-1]
        repeats += int((out == prev).sum())
        total += out.numel()
        for k, i in enumerate(rows):
            gens[i] = tok.decode(out[k].tolist())
    secs = time.perf_counter() - t0
    per = [distinct_n([g], 2) for g in gens]
    per = [x for x in per if x == x]  # NaN: fewer than two words
    return {"n": len(prompts), "prompt_words": prompt_words, "gen_length": gen_length, "policy": policy,
            "steps": gen_length, "block_length": block_length or gen_length, "temperature": temperature,
            "repeat_rate": repeats / max(total, 1), "distinct_2": distinct_n(gens, 2),
            "distinct_2_mean_per_sample": sum(per) / max(len(per), 1), "distinct_1": distinct_n(gens, 1),
            "seconds": round(secs, 1), "seconds_per_example": round(secs / max(len(prompts), 1), 3),
            "examples": [{"prompt": p, "continuation": g} for p, g in zip(prompts[:8], gens[:8])]}


@torch.no_grad()
def probe(adapter, text: str, k: int = 3) -> dict:
    before, _, after = text.partition("[MASK]")
    ids = adapter.encode(before.rstrip()) + [adapter.mask_id] + adapter.encode(after)
    if adapter.tokenizer.eos_id is not None:
        ids = ids + [adapter.tokenizer.eos_id]  # training appends [EOS] to every verse
    logits = adapter.model(input_ids=torch.tensor([ids]))[0, len(adapter.encode(before.rstrip()))].float()
    logits[[i for i in adapter.tokenizer.special_ids]] = -float("inf")
    p = logits.softmax(-1)
    top = p.topk(k)
    return {"text": text, "top": [{"token": adapter.decode([int(i)]).strip() or adapter.id_to_token(int(i)),
                                   "p": round(float(v), 4)} for v, i in zip(top.values, top.indices)]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="kjv", help="shipped name or folder")
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--n-mask", type=int, default=500, help="verses for masked-token accuracy")
    ap.add_argument("--n-gen", type=int, default=100, help="prompts to continue")
    ap.add_argument("--prompt-words", type=int, default=4)
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
    texts = load_texts(args.split)
    res = {"model": str(args.model), "split": args.split, "params": sum(p.numel() for p in adapter.model.parameters()),
           "pos_encoding": getattr(adapter.model.config, "pos_encoding", "learned"), "masked_token_accuracy": {}}
    t0 = time.perf_counter()
    for r in MASK_RATIOS:
        m = masked_token_accuracy(adapter.model, adapter.tokenizer, texts[:args.n_mask], r,
                                  random.Random(args.seed * 1000 + int(r * 100)))
        res["masked_token_accuracy"][str(r)] = m
        print(f"val masked acc @{r}: {m['accuracy']:.4f} ({m['n_tokens']} tokens, {m['n_verses']} verses)", flush=True)
    res["continuations"] = c = continuations(adapter, texts[:args.n_gen], args.prompt_words, args.gen_length,
                                                   args.seed, args.block_length, args.temperature, args.policy)
    print(f"continuations ({c['n']} prompts, {c['gen_length']} tokens, {c['policy']}, 1/step, blocks of "
          f"{c['block_length']}, T={c['temperature']}): repeat_rate "
          f"{c['repeat_rate']:.3f}, distinct-2 {c['distinct_2']:.3f} (mean per sample "
          f"{c['distinct_2_mean_per_sample']:.3f}), {c['seconds_per_example']} s/example", flush=True)
    for e in c["examples"][:3]:
        print(f"  {e['prompt']} | {e['continuation']}")
    res["probes"] = [probe(adapter, t) for t in PROBES]
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
