"""`sudoku4`: a 4x4 Sudoku given and answered as text rows (the d1 layout), digits 1-4.

    prompt  "s4:1.3./..21/4.../.1.."      answer  "1234/3412/2143/4321"

Puzzles keep 4-8 clues, so some have several solutions: the checker accepts any grid that keeps
the clues and breaks no rule, and blames every cell that breaks one.
"""
from __future__ import annotations

import random

from .reasoning import Check, Example, ReasoningTask, register

_BASE = [[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]]


def _units():
    rows = [[(r, c) for c in range(4)] for r in range(4)]
    cols = [[(r, c) for r in range(4)] for c in range(4)]
    boxes = [[(br + i, bc + j) for i in range(2) for j in range(2)] for br in (0, 2) for bc in (0, 2)]
    return rows + cols + boxes


UNITS = _units()


def random_solution(rng: random.Random) -> list[list[int]]:
    digits = list(range(1, 5))
    rng.shuffle(digits)
    bands = [0, 1] if rng.random() < 0.5 else [1, 0]
    rows = [b * 2 + i for b in bands for i in ([0, 1] if rng.random() < 0.5 else [1, 0])]
    stacks = [0, 1] if rng.random() < 0.5 else [1, 0]
    cols = [s * 2 + i for s in stacks for i in ([0, 1] if rng.random() < 0.5 else [1, 0])]
    g = [[digits[_BASE[r][c] - 1] for c in cols] for r in rows]
    if rng.random() < 0.5:
        g = [list(x) for x in zip(*g)]
    return g


def to_text(grid, blank: str = ".") -> str:
    return "/".join("".join(str(v) if v else blank for v in row) for row in grid)


def parse(text: str) -> list[list[int]] | None:
    """Rows 'dddd/dddd/dddd/dddd' -> grid (0 for anything that is not a digit 1-4), or None when
    the layout itself is wrong."""
    rows = text.split("/")
    if len(rows) != 4 or any(len(r) != 4 for r in rows):
        return None
    return [[int(ch) if ch in "1234" else 0 for ch in r] for r in rows]


def char_offset(r: int, c: int) -> int:
    return r * 5 + c


@register
class Sudoku4Task(ReasoningTask):
    name = "sudoku4"
    tag = "s4:"
    gen_length = 20

    def generate(self, rng: random.Random) -> Example:
        sol = random_solution(rng)
        k = rng.randint(4, 8)
        cells = [(r, c) for r in range(4) for c in range(4)]
        keep = set(rng.sample(cells, k))
        puz = [[sol[r][c] if (r, c) in keep else 0 for c in range(4)] for r in range(4)]
        return Example(self.name, to_text(puz), to_text(sol), {"clues": k})

    def check(self, example: Example, answer: str) -> Check:
        g = parse(answer)
        if g is None:
            return Check(False, list(range(len(answer))), "not four rows of four cells")
        puz = parse(example.prompt)
        bad = set()
        for r in range(4):
            for c in range(4):
                if g[r][c] == 0 or (puz[r][c] and g[r][c] != puz[r][c]):
                    bad.add((r, c))
        for unit in UNITS:
            seen: dict[int, list] = {}
            for r, c in unit:
                if g[r][c]:
                    seen.setdefault(g[r][c], []).append((r, c))
            for cells in seen.values():
                if len(cells) > 1:  # blame the cells that are not clues
                    bad.update(x for x in cells if not puz[x[0]][x[1]])
        wrong = sorted(char_offset(r, c) for r, c in bad)
        if wrong:
            return Check(False, wrong, f"{len(bad)} cell(s) break a rule or a clue")
        return Check(True, [], "solved")
