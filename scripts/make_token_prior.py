#!/usr/bin/env python
"""The PC-Sampler's frequency prior, from the model's own training data, shipped beside the model.

Counts the token ids the model was trained to predict at masked positions:
  kjv               the train verses' tokens;
  sudoku            the 81 digits of the training pool's random solutions (the generator and seed of
                    the sudoku recipe: random.Random(1_000_000 + seed));
  reasoning models  each task's train-split answer canvas (answer + [EOS] padding), the same
                    number of examples per task.
Writes assets/models/<model>/token_prior.json: {"counts": {id: n}, "total", "vocab_size", "source"}.

  python scripts/make_token_prior.py --model sudoku
  python scripts/make_token_prior.py --model reasoning --n 5000
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from boe_core.models import ASSETS_MODELS, load_model
from boe_core.policies.pc import PRIOR_FILE


def sudoku_counts(tok, n: int, seed: int) -> tuple[Counter, str]:
    from boe_core.tasks import sudoku as S

    rng = random.Random(1_000_000 + seed)
    c = Counter()
    for _ in range(n):
        c.update(tok.encode(S.random_solution(rng)))
    return c, f"first {n} solutions of the sudoku training pool (seed {seed})"


def reasoning_counts(tok, model: str, n: int) -> tuple[Counter, str]:
    from boe_core.tasks.reasoning import get_task, tasks_of_model

    names = tasks_of_model(model)
    if not names:
        raise SystemExit(f"--model {model}: no reasoning task names it as its model")
    c = Counter()
    for name in names:
        task = get_task(name)
        for i in range(n):
            ids, a0 = task.encode(tok, task.example("train", i), with_answer=True)
            c.update(ids[a0:])
    return c, f"train answer canvases (answer + [EOS] padding), {n} per task: {', '.join(names)}"


def kjv_counts(tok, n: int) -> tuple[Counter, str]:
    from boe_core.tasks.kjv import encode_verse, load_texts

    texts = load_texts("train")[:n]
    c = Counter()
    for t in texts:
        c.update(encode_verse(t, tok))
    return c, f"first {len(texts)} train verses (each + [EOS] as encoded for training)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a shipped model folder name (sudoku, sudoku6, reasoning, kjv)")
    ap.add_argument("--n", type=int, default=2000, help="training examples (per task)")
    ap.add_argument("--seed", type=int, default=0, help="sudoku: the training pool's seed")
    a = ap.parse_args(argv)
    adapter = load_model(a.model)
    tok = adapter.tokenizer
    if a.model == "sudoku":
        counts, source = sudoku_counts(tok, a.n, a.seed)
    elif a.model == "kjv":
        counts, source = kjv_counts(tok, a.n)
    else:
        counts, source = reasoning_counts(tok, a.model, a.n)
    out = ASSETS_MODELS / a.model / PRIOR_FILE
    doc = {"model": a.model, "source": source, "vocab_size": int(adapter.embedding_matrix().shape[0]),
           "total": int(sum(counts.values())), "counts": {str(k): int(v) for k, v in sorted(counts.items())},
           "made_by": "python scripts/make_token_prior.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    out.write_text(json.dumps(doc, indent=1) + "\n")
    top = ", ".join(f"{tok.id_to_token(k)!r}: {v / doc['total']:.3f}" for k, v in counts.most_common(5))
    print(f"wrote {out} ({doc['total']} tokens; most frequent {top})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
