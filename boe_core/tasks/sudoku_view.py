"""The 9x9 Sudoku task in one class: the explorer's view (a puzzle input, a grid with box borders,
wrongness from the rules in `tasks.sudoku`: `verify` for the cells, `first_error` over
`trace_commits` for the first wrong commit) and the bench's side (held-out puzzles from
assets/data/sudoku, solve rate and cell accuracy;
splits val / test, and hard_val / hard_test with 27 clues)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch

from ..errors import ConfigError
from . import sudoku as S
from .task import Task, register_task
from .views import CanvasPlan, ExampleChoice, canvas_at
from ..paths import data_dir

DATA_DIR = data_dir() / "sudoku"
SPLITS = ("val", "test")
# the hard split (27 clues, scripts/make_sudoku_hard.py): the same task, where the order matters
HARD_SPLITS = ("hard_val", "hard_test")

_RULE_KINDS = (S.ROW_DUP, S.COL_DUP, S.BOX_DUP)


def check_puzzle(puzzle) -> tuple[str, str | None, list]:
    """(normalised puzzle, its unique solution or None, notes); ConfigError naming `puzzle`."""
    if not isinstance(puzzle, str) or not puzzle.strip():
        raise ConfigError("puzzle", puzzle, "is empty: enter 81 characters (1-9, and 0 or . for blanks) or pick an example")
    if len(puzzle) > 1000:
        raise ConfigError("puzzle", f"<{len(puzzle)} characters>", "is too long: a puzzle has 81 cells")
    try:
        cells = S.parse_grid(puzzle)
    except ValueError as e:
        raise ConfigError("puzzle", puzzle[:90], str(e)) from None
    p = S.grid_to_str(cells)
    if "0" not in p:
        raise ConfigError("puzzle", p, "has no blank cell: nothing to decode")
    dup = [v for v in S.verify(p).violations if v.kind in _RULE_KINDS]
    if dup:
        raise ConfigError("puzzle", p, f"breaks a Sudoku rule: {'; '.join(v.detail for v in dup[:3])}")
    n = S.count_solutions(p, limit=2)
    if n == 0:
        raise ConfigError("puzzle", p, "has no solution")
    notes = [("warn", "This puzzle has more than one solution: cells are checked against the rules only.")] if n > 1 else []
    return p, (S.solve(p) if n == 1 else None), notes


def blanks(puzzle) -> int:
    return sum(ch in S.BLANKS for ch in S.normalize_grid(puzzle or ""))


@lru_cache(maxsize=1)
def _examples() -> tuple:
    try:
        return tuple(S.load_examples())
    except (OSError, ValueError):
        return ()


def _digit(trace, tid) -> int:
    tok = trace.id_to_token.get(int(tid), "")
    return int(tok) if len(tok) == 1 and tok in S.DIGITS else 0


class SudokuTask(Task):
    name = "sudoku"
    order = 0
    metric = "solve_rate"
    default_model = "sudoku"
    inputs = ("puzzle",)
    layout = "grid"
    grid = (9, 9, 3, 3)
    fixed_label = "clue"
    error_kinds = {"rule": ("breaks a rule", "rule_breaking_cells"), "sol": ("differs from solution", "wrong_cells")}

    def examples(self) -> list[ExampleChoice]:
        return [ExampleChoice(f"{e['name']} ({e.get('clues', '?')} clues)", {"puzzle": e["puzzle"], "steps": blanks(e["puzzle"])})
                for e in _examples()]

    def default_values(self) -> dict:
        ex = _examples()
        return {"puzzle": ex[0]["puzzle"] if ex else "0" * 81}

    def default_steps(self, values: dict) -> int | None:
        return blanks(values.get("puzzle")) or None

    def check_values(self, values: dict) -> None:
        pass  # the puzzle is checked when a run starts (solving it is not free)

    def build_canvas(self, adapter, values: dict) -> CanvasPlan:
        p, sol, notes = check_puzzle(values.get("puzzle"))
        ids, _ = S.puzzle_to_canvas(p, adapter.tokenizer)
        target = S.puzzle_to_canvas(sol, adapter.tokenizer)[0][None] if sol else None
        return CanvasPlan(ids[None], None, {"task": self.name, "puzzle": p, "solution": sol}, notes, target)

    def recognises(self, trace) -> bool:
        c = trace.initial_canvas[0].tolist()
        return len(c) == S.N_CELLS and all(_digit(trace, t) or t == trace.mask_id for t in c)

    def trace_problem(self, trace) -> str | None:
        n = trace.initial_canvas.shape[1]
        return None if n == S.N_CELLS else f"a Sudoku trace has 81 positions, not {n}"

    # --- drawing ------------------------------------------------------------------------------
    def labeller(self, trace):
        return lambda tid: str(_digit(trace, tid) or "")

    def grid_at(self, trace, k: int) -> str:
        """The 81-character grid after step k ('0' = blank)."""
        return "".join(str(_digit(trace, t)) for t in canvas_at(trace, k)[0].tolist())

    canvas_text = grid_at

    # --- wrongness ----------------------------------------------------------------------------
    def _solution(self, trace) -> str | None:
        sol = trace.meta.get("solution")
        return sol if isinstance(sol, str) and len(sol) == S.N_CELLS else None

    def can_check(self, trace) -> bool:
        return trace.initial_canvas.shape[1] == S.N_CELLS

    def knows_answer(self, trace) -> bool:
        return self._solution(trace) is not None

    def errors(self, trace, k: int) -> dict[str, dict[int, str]]:
        sol = self._solution(trace)
        rep = S.verify(self.grid_at(trace, k), solution=sol)
        rule = {i for v in rep.violations if v.kind in _RULE_KINDS for i in v.cells}
        wrong = {i for v in rep.violations if v.kind == S.WRONG for i in v.cells}
        return {"rule": {i: "⚠ breaks a Sudoku rule (repeated in a row, column or box)" for i in sorted(rule)},
                "sol": {i: f"✗ differs from the solution ({sol[i]})" for i in sorted(wrong)}}

    def first_wrong(self, trace) -> dict | None:
        if not trace.records or not self.can_check(trace):
            return None
        commits = [(pos, [trace.id_to_token.get(t, "?") for t in toks]) for pos, toks in S.trace_commits(trace)]
        clues = "".join(str(_digit(trace, t)) if f else "0"
                        for t, f in zip(trace.initial_canvas[0].tolist(), trace.fixed[0].tolist()))
        try:
            e = S.first_error(commits, solution=self._solution(trace), puzzle=clues)
        except ValueError:
            return None
        if e is None:
            return None
        r, c = divmod(e.position, 9)
        return {"step": e.step, "position": e.position, "digit": e.digit, "reason": e.reason,
                "where": f"r{r + 1}c{c + 1} = {e.digit}"}

    def solved(self, trace, k: int) -> bool:
        sol = self._solution(trace)
        return sol is not None and self.grid_at(trace, k) == sol

    def verdict(self, trace, k: int) -> list[tuple[str, str]]:
        out = super().verdict(trace, k)
        if k >= 0 and self.can_check(trace):
            n = len(self.errors(trace, k)["rule"])
            if n:
                out.append(("bad", f"{n} cells break a rule"))
        return out


    # --- bench -------------------------------------------------------------------------------
    def __init__(self, data_dir=None):
        self.data_dir = Path(data_dir) if data_dir else DATA_DIR

    @classmethod
    def from_options(cls, options: dict) -> "SudokuTask":
        return cls(options.get("data"))

    def load(self, split, limit):
        if limit is not None and limit < 1:
            raise ConfigError("limit", limit, "must be a positive integer")
        if split in HARD_SPLITS:
            p = self.data_dir / f"{split}.jsonl"
        else:
            p = Path(split) if split not in SPLITS else self.data_dir / f"heldout_{split}.jsonl"
        if not p.is_file():
            raise ConfigError("split", split, f"{p} does not exist")
        rows = [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
        rows = [{"id": i, "puzzle": r["puzzle"], "solution": r["solution"]} for i, r in enumerate(rows)]
        return rows[:limit] if limit else rows

    def canvas(self, adapter, examples):
        tok = getattr(adapter, "tokenizer", None)
        try:
            S.digit_ids(tok)
        except Exception:
            raise ConfigError("model", adapter.name, "is not a Sudoku model (no tokenizer with digits '1'-'9')") from None
        return torch.stack([S.puzzle_to_canvas(e["puzzle"], tok)[0] for e in examples]), None

    def answer_canvas(self, adapter, examples):
        """The solution grids as canvases (for the oracle ceiling)."""
        return torch.stack([S.puzzle_to_canvas(e["solution"], adapter.tokenizer)[0] for e in examples])

    def score(self, adapter, examples, final):
        out = []
        for e, row in zip(examples, final):
            grid = S.canvas_to_grid(row, adapter.tokenizer)
            acc = S.puzzle_cell_accuracy(grid, e["solution"], e["puzzle"])
            out.append({"solve_rate": float(grid == S.normalize_grid(e["solution"])),
                        "cell_accuracy": 1.0 if acc != acc else acc, "output": grid})  # no blanks: all right
        return out


register_task(SudokuTask)
