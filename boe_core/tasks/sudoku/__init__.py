"""The 9x9 Sudoku task's rules, data and metrics, one concept per module:

  * `rules`: the 81-character grid strings, solving and counting (the grid engine's bitmask
    search for `GridShape(3, 3)`), and `verify`, which reports every kind of violation;
  * `data`: random grids and unique-solution puzzles from a seed, and the example puzzles;
  * `tokens`: the tokenizer and the canvas (`puzzle_to_canvas` / `canvas_to_grid`);
  * `metrics`: `solve_rate`, `cell_accuracy`, `first_error_step` and `trace_commits`.

Callers use this package's names (`from boe_core.tasks import sudoku as S; S.verify(...)`). The
explorer's view and the bench's side are `tasks.sudoku_view.SudokuTask`; symmetry augmentation
is training's (`boe_core.train.augment`).
"""
from .data import EXAMPLES_PATH, generate_puzzle, load_examples, make_puzzle, random_solution
from .metrics import (CommitError, cell_accuracy, first_error, first_error_step, puzzle_cell_accuracy, solve_rate,
                      trace_commits)
from .rules import (BLANKS, BOX_DUP, CHARACTER, CLUE_CHANGED, COL_DUP, DIGITS, LENGTH, N_CELLS, PEERS, ROW_DUP, SHAPE,
                    UNFILLED, UNITS, VIOLATION_KINDS, WRONG, VerifyReport, Violation, count_solutions, grid_to_str,
                    n_clues, normalize_grid, parse_grid, solve, verify)
from .tokens import (SPECIAL_TOKENS, canvas_to_grid, digit_ids, digit_lookup, id_to_digit_table, puzzle_to_canvas,
                     sudoku_tokenizer)

__all__ = [
    "BLANKS", "BOX_DUP", "CHARACTER", "CLUE_CHANGED", "COL_DUP", "DIGITS", "EXAMPLES_PATH", "LENGTH", "N_CELLS",
    "PEERS", "ROW_DUP", "SHAPE", "SPECIAL_TOKENS", "UNFILLED", "UNITS", "VIOLATION_KINDS", "WRONG", "CommitError",
    "VerifyReport", "Violation", "canvas_to_grid", "cell_accuracy", "count_solutions", "digit_ids", "digit_lookup",
    "first_error", "first_error_step", "generate_puzzle", "grid_to_str", "id_to_digit_table", "load_examples",
    "make_puzzle", "n_clues", "normalize_grid", "parse_grid", "puzzle_cell_accuracy", "puzzle_to_canvas",
    "random_solution", "solve", "solve_rate", "sudoku_tokenizer", "trace_commits", "verify",
]
