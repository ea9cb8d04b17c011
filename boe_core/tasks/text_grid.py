"""The Sudoku grid engine: geometry (units, peers) for any box shape, the text-row layout of the
`sudoku4` / `sudoku6` tasks, and their rule checker. The 9x9 `sudoku` task takes its geometry
from here too (`GridShape(3, 3)`, flat cell indices).

A grid of side n is written as n rows of n digits joined by '/', blanks as '.':

    "1.3./..21/4.../.1.."      (n = 4, boxes 2x2)

Cell (r, c) sits at character offset r * (n + 1) + c, which is how the checker points at it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .reasoning import Check, Example, ReasoningTask


@dataclass(frozen=True)
class GridShape:
    """A Sudoku of side n = box_rows * box_cols, digits 1..n."""
    box_rows: int
    box_cols: int

    @property
    def n(self) -> int:
        return self.box_rows * self.box_cols

    @property
    def digits(self) -> str:
        return "123456789"[:self.n]

    @cached_property
    def units(self) -> list[list[tuple[int, int]]]:
        """Rows, columns and boxes, each a list of (r, c)."""
        n, br, bc = self.n, self.box_rows, self.box_cols
        rows = [[(r, c) for c in range(n)] for r in range(n)]
        cols = [[(r, c) for r in range(n)] for c in range(n)]
        boxes = [[(r0 + i, c0 + j) for i in range(br) for j in range(bc)]
                 for r0 in range(0, n, br) for c0 in range(0, n, bc)]
        return rows + cols + boxes

    @cached_property
    def peers(self) -> dict[tuple[int, int], frozenset]:
        """Every cell's peers: the other cells of its row, column and box."""
        out = {(r, c): set() for r in range(self.n) for c in range(self.n)}
        for unit in self.units:
            for cell in unit:
                out[cell].update(x for x in unit if x != cell)
        return {k: frozenset(v) for k, v in out.items()}

    @cached_property
    def flat_units(self) -> dict[str, list[list[int]]]:
        """Rows, columns and boxes as lists of flat cell indices r * n + c (row-major boxes)."""
        n = self.n
        flat = [[r * n + c for r, c in unit] for unit in self.units]
        return {"row": flat[:n], "column": flat[n:2 * n], "box": flat[2 * n:]}

    @cached_property
    def flat_peers(self) -> list[list[int]]:
        """Every flat cell index's peers, sorted."""
        n = self.n
        return [sorted(r * n + c for r, c in self.peers[(i // n, i % n)]) for i in range(n * n)]

    def char_offset(self, r: int, c: int) -> int:
        return r * (self.n + 1) + c

    def to_text(self, grid, blank: str = ".") -> str:
        return "/".join("".join(str(v) if v else blank for v in row) for row in grid)

    def parse(self, text: str) -> list[list[int]] | None:
        """Rows of n cells joined by '/' -> grid (0 for anything that is not a digit 1..n), or
        None when the layout itself is wrong."""
        rows = text.split("/")
        if len(rows) != self.n or any(len(r) != self.n for r in rows):
            return None
        return [[int(ch) if ch in self.digits else 0 for ch in r] for r in rows]

    def check(self, prompt: str, answer: str) -> Check:
        """Any grid that keeps the clues and breaks no rule is right; every cell that is empty,
        overwrites a clue or repeats a digit in a unit (clues excepted) is blamed."""
        g = self.parse(answer)
        if g is None:
            return Check(False, list(range(len(answer))), f"not {self.n} rows of {self.n} cells")
        puz = self.parse(prompt)
        n = self.n
        bad = {(r, c) for r in range(n) for c in range(n) if g[r][c] == 0 or (puz[r][c] and g[r][c] != puz[r][c])}
        for unit in self.units:
            seen: dict[int, list] = {}
            for r, c in unit:
                if g[r][c]:
                    seen.setdefault(g[r][c], []).append((r, c))
            for cells in seen.values():
                if len(cells) > 1:  # blame the cells that are not clues
                    bad.update(x for x in cells if not puz[x[0]][x[1]])
        if bad:
            return Check(False, sorted(self.char_offset(r, c) for r, c in bad), f"{len(bad)} cell(s) break a rule or a clue")
        return Check(True, [], "solved")


class GridTask(ReasoningTask):
    """A Sudoku task written as text rows: checked by `shape`'s rules, and checkable from a typed
    prompt alone (the clues are all the checker needs)."""
    shape: GridShape

    def check(self, example: Example, answer: str) -> Check:
        return self.shape.check(example.prompt, answer)

    def from_prompt(self, body: str) -> Example | None:
        # clues that are not a grid of this shape cannot be checked: the answer is shown unchecked
        return Example(self.name, body, "") if self.shape.parse(body) is not None else None
