"""The shipped `sudoku` model and the first n puzzles of a split, as canvases: what the Sudoku
studies (pilot-backtrack, probe-order) start from."""
from __future__ import annotations

import torch


def sudoku_split(split: str, n: int):
    """(model, puzzles (n, 81) long with [MASK] at the blanks, solutions (n, 81) long)."""
    from boe_core import load_model
    from boe_core.bench.tasks import make_task
    from boe_core.tasks import sudoku as S

    m = load_model("sudoku")
    ex = make_task("sudoku").load(split, n)
    puzzles = torch.stack([S.puzzle_to_canvas(e["puzzle"], m.tokenizer)[0] for e in ex])
    solutions = torch.stack([S.puzzle_to_canvas(e["solution"], m.tokenizer)[0] for e in ex])
    return m, puzzles, solutions
