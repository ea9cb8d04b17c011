#!/usr/bin/env python
"""Deterministic held-out Sudoku puzzles and the app's example puzzles.

    python scripts/make_sudoku_data.py            # writes assets/data/sudoku/heldout_{test,val}.jsonl
                                                  # and assets/examples/sudoku.json

Each held-out line: {"puzzle": 81 chars ('0' = blank), "solution": 81 chars, "clues": int}. Every
puzzle has a unique solution. Clue counts are drawn uniformly from [--min-clues, --max-clues].
The seeds here (test 20240101, val 20240202, examples 20240303) differ from the training seed
(`python -m boe_core.train sudoku` draws its base grids from seed 1_000_000 + --seed), and the training
data are random symmetry images of other random grids, so the held-out grids are not trained on.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from boe_core.tasks import sudoku as S

TEST_SEED, VAL_SEED, EXAMPLES_SEED = 20240101, 20240202, 20240303


def make_split(n: int, seed: int, lo: int, hi: int) -> list[dict]:
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        target = rng.randint(lo, hi)
        puzzle, solution = S.generate_puzzle(rng, target_clues=target)
        if solution in seen:
            continue
        seen.add(solution)
        assert S.count_solutions(puzzle) == 1 and S.verify(solution, puzzle).ok
        out.append({"puzzle": puzzle, "solution": solution, "clues": S.n_clues(puzzle)})
    return out


def make_examples() -> list[dict]:
    rng = random.Random(EXAMPLES_SEED)
    spec = [("easy-1", "easy", 45), ("easy-2", "easy", 42), ("medium-1", "medium", 38),
            ("medium-2", "medium", 36), ("harder-1", "harder", 30), ("hard-1", "hard", 26)]
    out = []
    for name, level, clues in spec:
        puzzle, solution = S.generate_puzzle(rng, target_clues=clues)
        out.append({"name": name, "level": level, "clues": S.n_clues(puzzle), "puzzle": puzzle, "solution": solution})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "assets" / "data" / "sudoku"))
    ap.add_argument("--examples", default=str(ROOT / "assets" / "examples" / "sudoku.json"))
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--n-val", type=int, default=100)
    ap.add_argument("--min-clues", type=int, default=36)
    ap.add_argument("--max-clues", type=int, default=40)
    a = ap.parse_args(argv)
    t0 = time.time()
    out = Path(a.out)
    test = make_split(a.n_test, TEST_SEED, a.min_clues, a.max_clues)
    val = make_split(a.n_val, VAL_SEED, a.min_clues, a.max_clues)
    overlap = {r["solution"] for r in test} & {r["solution"] for r in val}
    assert not overlap
    write_jsonl(out / "heldout_test.jsonl", test)
    write_jsonl(out / "heldout_val.jsonl", val)
    ex = Path(a.examples)
    ex.parent.mkdir(parents=True, exist_ok=True)
    ex.write_text(json.dumps(make_examples(), indent=2) + "\n")
    print(f"wrote {len(test)} test + {len(val)} val puzzles to {out} and examples to {ex} "
          f"in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
