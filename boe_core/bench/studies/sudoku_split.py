"""The shipped `sudoku` model and the first n puzzles of a split, as canvases: what the Sudoku
studies (pilot-backtrack, probe-order) start from. It lives in `bench.sudoku_runs`."""
from __future__ import annotations

from ..sudoku_runs import sudoku_split  # noqa: F401
