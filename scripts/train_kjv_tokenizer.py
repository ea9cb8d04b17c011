#!/usr/bin/env python
"""Train the KJV byte-level BPE tokenizer on the TRAIN split only.

ByteLevel pre-tokenizer (no prefix space) + ByteLevel decoder, so decode(encode(x)) == x for any
text; vocabulary <= 4096 including the special tokens [PAD] [MASK] [EOS] [BOS] (ids 0..3).
Saved as tokenizer.json + special_tokens.json (MDMTokenizer.save).

Usage: python scripts/train_kjv_tokenizer.py [--out assets/models/kjv] [--vocab 4096]
"""
from __future__ import annotations

import argparse


from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from boe_core.tasks.kjv import load_texts
from boe_core.tokenization import MDMTokenizer

SPECIAL_TOKENS = {"pad_token": "[PAD]", "mask_token": "[MASK]", "eos_token": "[EOS]", "bos_token": "[BOS]"}


def build(texts, vocab_size: int = 4096) -> MDMTokenizer:
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    specials = list(SPECIAL_TOKENS.values())
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(texts, trainer=trainer)
    return MDMTokenizer(tk, SPECIAL_TOKENS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="assets/models/kjv")
    ap.add_argument("--vocab", type=int, default=4096)
    args = ap.parse_args(argv)
    train = load_texts("train")
    tok = build(train, args.vocab)
    assert tok.vocab_size <= args.vocab, tok.vocab_size
    bad = [t for t in train + load_texts("test") + load_texts("val") if tok.decode(tok.encode(t)) != t]
    if bad:
        raise SystemExit(f"{len(bad)} verses do not round-trip, e.g. {bad[0]!r}")
    lens = [len(tok.encode(t)) for t in train]
    tok.save(args.out)
    print(f"saved tokenizer to {args.out}: vocab {tok.vocab_size}, specials "
          f"pad={tok.pad_id} mask={tok.mask_id} eos={tok.eos_id} bos={tok.bos_id}; "
          f"train tokens {sum(lens)}, mean {sum(lens) / len(lens):.1f}, max {max(lens)} tokens/verse; "
          "all verses round-trip")


if __name__ == "__main__":
    main()
