#!/usr/bin/env python
"""The hard Sudoku split: 27-clue puzzles with a unique solution, deterministic, written once.

    python scripts/make_sudoku_hard.py        # assets/data/sudoku/hard_{val,test}.jsonl (200 + 500)
                                              # and the hard examples in assets/examples/sudoku.json

Why a second split: the held-out split has 36-40 clues, where confidence already solves 0.94, so
no table can show how much the decoding order loses. At 27 clues (54 blanks) the shipped model
still proposes the right digit somewhere at every step, but a confidence order commits a wrong one
on most puzzles (issue #29).

How: `sudoku.generate_puzzle` (a random complete grid, then clues removed in a random order, each
removal kept only while the solution stays unique) with target 27; a puzzle whose pass stops above
27 clues is dropped and another is drawn, so every puzzle has exactly 27. The seeds differ from the
held-out ones (2024...) and from training's (1_000_000 + seed), and no solution grid repeats across
hard val, hard test and the held-out splits. Pure Python, about 10 ms a puzzle.

The explorer's examples: entries named `hard27-*` in assets/examples/sudoku.json are replaced by
three fresh 27-clue puzzles from their own seed (not from val or test); the other entries, written
by scripts/make_sudoku_data.py, are kept as they are.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from boe_core.tasks import sudoku as S  # noqa: E402

HARD_TEST_SEED, HARD_VAL_SEED, HARD_EXAMPLES_SEED = 29_270_001, 29_270_002, 29_270_003
CLUES = 27
EXAMPLE_PREFIX = "hard27-"


def make_split(n: int, seed: int, clues: int, avoid: set) -> list[dict]:
    """n puzzles with exactly `clues` clues and a unique solution; solutions in `avoid` are skipped
    (and the new ones added to it)."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        puzzle, solution = S.generate_puzzle(rng, target_clues=clues)
        if S.n_clues(puzzle) != clues or solution in avoid:
            continue
        assert S.count_solutions(puzzle) == 1 and S.verify(solution, puzzle).ok
        avoid.add(solution)
        out.append({"puzzle": puzzle, "solution": solution, "clues": clues})
    return out


def existing_solutions(data_dir: Path) -> set:
    out = set()
    for f in sorted(data_dir.glob("heldout_*.jsonl")):
        out |= {json.loads(line)["solution"] for line in f.read_text().splitlines() if line.strip()}
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def update_examples(path: Path, rows: list[dict]) -> None:
    """Replace the `hard27-*` entries of the examples file by `rows`; keep every other entry."""
    old = json.loads(path.read_text()) if path.is_file() else []
    keep = [e for e in old if not str(e.get("name", "")).startswith(EXAMPLE_PREFIX)]
    new = [{"name": f"{EXAMPLE_PREFIX}{i + 1}", "level": "hard (27 clues)", "clues": r["clues"],
            "puzzle": r["puzzle"], "solution": r["solution"]} for i, r in enumerate(rows)]
    path.write_text(json.dumps(keep + new, indent=2) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "assets" / "data" / "sudoku"))
    ap.add_argument("--examples", default=str(ROOT / "assets" / "examples" / "sudoku.json"))
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--n-val", type=int, default=200)
    ap.add_argument("--n-examples", type=int, default=3)
    ap.add_argument("--clues", type=int, default=CLUES)
    a = ap.parse_args(argv)
    t0 = time.time()
    out = Path(a.out)
    avoid = existing_solutions(out)
    test = make_split(a.n_test, HARD_TEST_SEED, a.clues, avoid)
    val = make_split(a.n_val, HARD_VAL_SEED, a.clues, avoid)
    examples = make_split(a.n_examples, HARD_EXAMPLES_SEED, a.clues, avoid)
    write_jsonl(out / "hard_test.jsonl", test)
    write_jsonl(out / "hard_val.jsonl", val)
    if a.n_examples:
        update_examples(Path(a.examples), examples)
    print(f"wrote {len(test)} test + {len(val)} val puzzles ({a.clues} clues) to {out} and "
          f"{len(examples)} examples to {a.examples} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
