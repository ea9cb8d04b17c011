"""The Sudokus written as text rows (`sudoku4`, `sudoku6`): a reasoning task whose prompt and answer
are grids in the text-row layout of `grid.GridShape` ("1.3./..21/4.../.1.."), checked by the
engine's rules."""
from __future__ import annotations

from .grid import GridShape, duplicates
from .reasoning import Check, Example, ReasoningTask


def check_rows(shape: GridShape, prompt: str, answer: str) -> Check:
    """Any grid that keeps the clues and breaks no rule is right; every cell that is empty,
    overwrites a clue or repeats a digit in a unit (clues excepted) is blamed, at its character."""
    g = shape.parse(answer)
    if g is None:
        return Check(False, list(range(len(answer))), f"not {shape.n} rows of {shape.n} cells")
    puz = shape.parse(prompt)
    n = shape.n
    cells = [v for row in g for v in row]
    clues = [v for row in puz for v in row]
    bad = {i for i in range(n * n) if cells[i] == 0 or (clues[i] and cells[i] != clues[i])}
    for dup in duplicates(shape, cells):
        bad.update(i for i in dup.cells if not clues[i])  # blame the cells that are not clues
    if bad:
        return Check(False, sorted(shape.char_offset(*divmod(i, n)) for i in bad),
                     f"{len(bad)} cell(s) break a rule or a clue")
    return Check(True, [], "solved")


class GridTask(ReasoningTask):
    """A Sudoku task written as text rows: checked by `shape`'s rules, and checkable from a typed
    prompt alone (the clues are all the checker needs)."""
    shape: GridShape

    def check(self, example: Example, answer: str) -> Check:
        return check_rows(self.shape, example.prompt, answer)

    def from_prompt(self, body: str) -> Example | None:
        # clues that are not a grid of this shape cannot be checked: the answer is shown unchecked
        return Example(self.name, body, "") if self.shape.parse(body) is not None else None
