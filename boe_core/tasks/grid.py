"""The Sudoku grid engine, for every size: the geometry of a grid of side n = box_rows * box_cols
(rows, columns, boxes, each cell's peers) and the rule every size shares, that no digit repeats
in a unit (`duplicates`). The 9x9 `sudoku` task and the text tasks `sudoku4` / `sudoku6` all take
their rules from here; `grid_solver` solves any shape.

Cells are addressed two ways: (r, c), and the flat index r * n + c of a row-major grid. The text
tasks also write a grid as n rows of n digits joined by '/', blanks as '.':

    "1.3./..21/4.../.1.."      (n = 4, boxes 2x2)

and cell (r, c) then sits at character offset r * (n + 1) + c.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

UNIT_KINDS = ("row", "column", "box")


@dataclass(frozen=True)
class GridShape:
    """A Sudoku of side n = box_rows * box_cols, digits 1..n (n <= 9)."""
    box_rows: int
    box_cols: int

    @property
    def n(self) -> int:
        return self.box_rows * self.box_cols

    @property
    def n_cells(self) -> int:
        return self.n * self.n

    @property
    def digits(self) -> str:
        return "123456789"[:self.n]

    # --- geometry ---------------------------------------------------------------------------
    @cached_property
    def units(self) -> list[list[tuple[int, int]]]:
        """Rows, columns and boxes (in that order, boxes row-major), each a list of (r, c)."""
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
        """{"row" | "column" | "box": units as lists of flat cell indices}."""
        n = self.n
        flat = [[r * n + c for r, c in unit] for unit in self.units]
        return {"row": flat[:n], "column": flat[n:2 * n], "box": flat[2 * n:]}

    @cached_property
    def flat_peers(self) -> list[list[int]]:
        """Every flat cell index's peers, sorted."""
        n = self.n
        return [sorted(r * n + c for r, c in self.peers[(i // n, i % n)]) for i in range(n * n)]

    @cached_property
    def unit_of(self) -> dict[str, list[int]]:
        """{"row" | "column" | "box": the unit number of each flat cell}."""
        out = {}
        for kind, units in self.flat_units.items():
            of = [0] * self.n_cells
            for k, unit in enumerate(units):
                for i in unit:
                    of[i] = k
            out[kind] = of
        return out

    def shared_unit(self, i: int, j: int) -> str | None:
        """The first kind of unit ("row", "column", "box") that flat cells i and j share."""
        return next((kind for kind in UNIT_KINDS if self.unit_of[kind][i] == self.unit_of[kind][j]), None)

    def flatten(self, clues: dict[tuple[int, int], int]) -> list[int]:
        """{(r, c): digit} -> flat cells, 0 where there is no clue."""
        cells = [0] * self.n_cells
        for (r, c), d in clues.items():
            cells[r * self.n + c] = d
        return cells

    # --- the text-row layout of the text tasks ----------------------------------------------
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


@dataclass(frozen=True)
class Duplicate:
    """A digit repeated in one unit: `kind` "row" | "column" | "box", `unit` its 0-based number
    among the units of that kind, `cells` the flat cells holding the digit there (in unit order)."""
    kind: str
    unit: int
    digit: int
    cells: tuple[int, ...]


def duplicates(shape: GridShape, cells: Sequence[int]) -> list[Duplicate]:
    """Every repeated digit of every unit of a flat grid (0 = blank), rows first, then columns,
    then boxes; within a unit, digits in the order they first appear."""
    out = []
    for kind in UNIT_KINDS:
        for k, unit in enumerate(shape.flat_units[kind]):
            seen: dict[int, list[int]] = {}
            for i in unit:
                if cells[i]:
                    seen.setdefault(cells[i], []).append(i)
            out.extend(Duplicate(kind, k, d, tuple(where)) for d, where in seen.items() if len(where) > 1)
    return out
