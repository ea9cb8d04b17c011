"""The 9x9 Sudoku's rules on grid strings: 81 characters, row-major, '0' or '.' for a blank
(whitespace is ignored, so a 9-line block also parses). The geometry, the duplicate rule and the
solver are the grid engine's (`tasks.grid`, `tasks.grid_solver`) for `GridShape(3, 3)`; here are
the string form, solving and counting on it, and `verify`, which reports every kind of violation."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import grid_solver
from ..grid import GridShape, duplicates

SHAPE = GridShape(3, 3)
N_CELLS = SHAPE.n_cells
DIGITS = SHAPE.digits
BLANKS = "0."
UNITS = SHAPE.flat_units  # {"row" | "column" | "box": [[flat cell index, ...], ...]}
PEERS = SHAPE.flat_peers


# --- the string form -------------------------------------------------------------------------
def normalize_grid(s: str) -> str:
    """Strip whitespace and map '.' to '0'. Does not validate length or characters."""
    return "".join(s.split()).replace(".", "0")


def parse_grid(s: str) -> list[int]:
    """81-character puzzle/grid string -> list of ints (0 = blank). Raises ValueError when malformed."""
    s = normalize_grid(s)
    if len(s) != N_CELLS:
        raise ValueError(f"grid must have 81 cells, got {len(s)}")
    bad = sorted({ch for ch in s if ch not in "0123456789"})
    if bad:
        raise ValueError(f"grid has invalid characters {bad!r}; use '1'-'9' and '0' or '.' for blanks")
    return [int(ch) for ch in s]


def grid_to_str(cells: Sequence[int]) -> str:
    return "".join(str(int(v)) for v in cells)


def n_clues(puzzle: str) -> int:
    return sum(ch not in BLANKS for ch in normalize_grid(puzzle))


# --- solving ---------------------------------------------------------------------------------
def count_solutions(puzzle, limit: int = 2) -> int:
    """Number of solutions of `puzzle` (str or list of ints), counting stops at `limit`.
    Contradictory clues give 0."""
    cells = parse_grid(puzzle) if isinstance(puzzle, str) else list(puzzle)
    return grid_solver.count_solutions(SHAPE, cells, limit)


def solve(puzzle) -> str | None:
    """The solution if the puzzle has exactly one, else None."""
    cells = parse_grid(puzzle) if isinstance(puzzle, str) else list(puzzle)
    sol = grid_solver.unique_solution(SHAPE, cells)
    return None if sol is None else grid_to_str(sol)


# --- verification ----------------------------------------------------------------------------
LENGTH, CHARACTER, CLUE_CHANGED = "length", "character", "clue_changed"
ROW_DUP, COL_DUP, BOX_DUP = "row_duplicate", "column_duplicate", "box_duplicate"
UNFILLED, WRONG = "unfilled", "differs_from_solution"
VIOLATION_KINDS = (LENGTH, CHARACTER, CLUE_CHANGED, ROW_DUP, COL_DUP, BOX_DUP, UNFILLED, WRONG)
DUPLICATE_KIND = {"row": ROW_DUP, "column": COL_DUP, "box": BOX_DUP}  # the engine's unit kind -> violation


@dataclass
class Violation:
    kind: str
    cells: tuple = ()
    detail: str = ""


@dataclass
class VerifyReport:
    violations: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """A complete, rule-abiding grid that keeps the clues (and matches the solution if given)."""
        return not self.violations

    solved = ok

    @property
    def kinds(self) -> set:
        return {v.kind for v in self.violations}

    def summary(self) -> str:
        if self.ok:
            return "solved"
        counts: dict = {}
        for v in self.violations:
            counts[v.kind] = counts.get(v.kind, 0) + max(1, len(v.cells) if v.kind in (UNFILLED, WRONG, CLUE_CHANGED, CHARACTER) else 1)
        return ", ".join(f"{k}: {n}" for k, n in counts.items())


def verify(grid: str, puzzle: str | None = None, solution: str | None = None) -> VerifyReport:
    """Check a (possibly partial) grid. Reports every violation, each with the cells involved:
    wrong length (then nothing else is checked), invalid characters, a clue of `puzzle` changed,
    duplicates in a row / column / box, unfilled cells, and filled cells that differ from the
    known `solution`."""
    rep = VerifyReport()
    g = normalize_grid(grid)
    if len(g) != N_CELLS:
        rep.violations.append(Violation(LENGTH, (), f"expected 81 cells, got {len(g)}"))
        return rep
    bad = tuple(i for i, ch in enumerate(g) if ch not in "0123456789")
    if bad:
        rep.violations.append(Violation(CHARACTER, bad, f"invalid characters {sorted({g[i] for i in bad})!r}"))
    cells = [int(ch) if ch in "0123456789" else 0 for ch in g]
    if puzzle is not None:
        p = parse_grid(puzzle)
        changed = tuple(i for i in range(N_CELLS) if p[i] and cells[i] != p[i])
        if changed:
            rep.violations.append(Violation(CLUE_CHANGED, changed, "clue cells altered"))
    for dup in duplicates(SHAPE, cells):
        rep.violations.append(Violation(DUPLICATE_KIND[dup.kind], dup.cells,
                                        f"digit {dup.digit} repeated in {dup.kind} {dup.unit + 1}"))
    unfilled = tuple(i for i in range(N_CELLS) if cells[i] == 0 and i not in bad)
    if unfilled:
        rep.violations.append(Violation(UNFILLED, unfilled, f"{len(unfilled)} cells unfilled"))
    if solution is not None:
        s = parse_grid(solution)
        wrong = tuple(i for i in range(N_CELLS) if cells[i] and cells[i] != s[i])
        if wrong:
            rep.violations.append(Violation(WRONG, wrong, f"{len(wrong)} filled cells differ from the solution"))
    return rep
