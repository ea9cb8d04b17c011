"""Evaluate the KJV TinyMDM on the held-out TEST verses.

1. Masked-token accuracy at mask ratios 0.15 / 0.5 / 0.9: random positions of each verse masked,
   ONE forward pass, argmax (no iterative decoding).
2. Span infilling: a contiguous span of ratio r of each verse's tokens is masked
   (`make_infill_example`), the decoder fills it one token per step, exact match of the whole
   span (and per-token accuracy). Decoder: the project's sampler (`boe_core.generate` via
   `boe_core.tasks.kjv.sampler_fill`, one `DecodeConfig` per --policies entry, steps = span length).

  python -m boe_core.bench eval-kjv                         # all 500 test verses masked acc, 200 infill each
  python -m boe_core.bench eval-kjv --policies confidence margin entropy random boe --n-infill 100
Writes a JSON summary to --out (default runs/kjv/eval.json) and prints it.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from ... import load_model, paths
from ...models.tiny_mdm import TinyMDM
from ...tasks.kjv import (MASK_RATIOS, MODEL_DIR, load_texts, masked_token_accuracy,
                                sampler_fill, span_infill)
from ...tokenization import MDMTokenizer


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench eval-kjv", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(MODEL_DIR))
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--n-mask", type=int, default=500, help="verses for masked-token accuracy")
    ap.add_argument("--n-infill", type=int, default=200, help="verses per infill ratio")
    ap.add_argument("--infill-ratios", type=float, nargs="+", default=[0.1, 0.25, 0.5])
    ap.add_argument("--policies", nargs="+", default=["confidence"], help="sampler policies to evaluate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="default: runs/kjv/eval.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = TinyMDM.from_pretrained(args.model)
    tok = MDMTokenizer.load(args.model)
    texts = load_texts(args.split)
    result = {"model": args.model, "split": args.split, "params": model.num_parameters(),
              "masked_token_accuracy": {}, "span_infill": {}}

    t0 = time.time()
    for r in MASK_RATIOS:
        m = masked_token_accuracy(model, tok, texts[:args.n_mask], r, random.Random(args.seed * 1000 + int(r * 100)))
        result["masked_token_accuracy"][str(r)] = m
        print(f"masked acc @{r}: {m['accuracy']:.4f} ({m['n_tokens']} tokens, {m['n_verses']} verses)", flush=True)

    adapter = load_model(args.model)
    decoders = [(f"sampler:{p}", sampler_fill(adapter, p, args.seed)) for p in args.policies]

    for name, fill in decoders:
        result["span_infill"][name] = {}
        for r in args.infill_ratios:
            t1 = time.time()
            s = span_infill(model, tok, texts[:args.n_infill], r, random.Random(args.seed * 1000 + 7 + int(r * 100)), fill)
            s["seconds"] = round(time.time() - t1, 1)
            result["span_infill"][name][str(r)] = s
            print(f"{name} infill @{r}: exact {s['exact_match']:.4f} token acc {s['token_accuracy']:.4f} "
                  f"({s['n_verses']} verses, {s['seconds']}s) e.g. {s['examples'][0]}", flush=True)
    result["seconds"] = round(time.time() - t0, 1)
    args.out = args.out or str(paths.runs_dir() / "kjv" / "eval.json")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
