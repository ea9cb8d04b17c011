"""The 9x9 Sudoku's metrics: `solve_rate`, `cell_accuracy` and the first wrong commit of a decode
(`first_error`, `first_error_step`; `trace_commits` turns a Trace of the project's sampler into
the per-step commits they take). Pure and sampler-agnostic: nothing here decodes."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .rules import (
    BLANKS,
    DIGITS,
    DUPLICATE_KIND,
    N_CELLS,
    PEERS,
    SHAPE,
    WRONG,
    normalize_grid,
    parse_grid,
)
from .tokens import default_tokenizer


def solve_rate(grids: Sequence[str], solutions: Sequence[str]) -> float:
    """Fraction of grids equal to their (unique) solution."""
    if len(grids) != len(solutions):
        raise ValueError("grids and solutions differ in length")
    if not grids:
        return float("nan")
    return sum(normalize_grid(g) == normalize_grid(s) for g, s in zip(grids, solutions)) / len(grids)


def puzzle_cell_accuracy(grid: str, solution: str, puzzle: str | None = None) -> float:
    """Fraction of one grid's cells equal to the solution; with `puzzle`, over its blanks only.
    The one definition: `cell_accuracy` and the bench average it over puzzles."""
    g, s = normalize_grid(grid), normalize_grid(solution)
    p = normalize_grid(puzzle) if puzzle is not None else "0" * N_CELLS
    cells = [i for i in range(N_CELLS) if p[i] in BLANKS]
    return sum(g[i] == s[i] for i in cells) / len(cells) if cells else float("nan")


def cell_accuracy(grids: Sequence[str], solutions: Sequence[str], puzzles: Sequence[str] | None = None) -> float:
    """Mean over puzzles of `puzzle_cell_accuracy` (each puzzle weighs the same)."""
    if len(grids) != len(solutions):
        raise ValueError("grids and solutions differ in length")
    vals = [puzzle_cell_accuracy(g, s, puzzles[k] if puzzles is not None else None)
            for k, (g, s) in enumerate(zip(grids, solutions))]
    return sum(vals) / len(vals) if vals else float("nan")


def _commit_digit(tok, tokenizer) -> int:
    """A committed token (digit character, digit int given as str, or token id) -> digit 1..9,
    0 when it is not a digit token."""
    if isinstance(tok, str):
        return int(tok) if len(tok) == 1 and tok in DIGITS else 0
    tokz = tokenizer or default_tokenizer()
    s = tokz.id_to_token(int(tok))
    return int(s) if len(s) == 1 and s in DIGITS else 0


def _unpack_commit(step):
    if isinstance(step, dict):
        pos, toks = step.get("positions"), step.get("tokens")
    else:
        pos, toks = step
    if isinstance(pos, torch.Tensor):
        pos = pos.reshape(-1).tolist()
    if isinstance(toks, torch.Tensor):
        toks = toks.reshape(-1).tolist()
    if isinstance(pos, int):
        pos, toks = [pos], [toks]
    return list(pos), list(toks)


@dataclass
class CommitError:
    step: int
    position: int
    digit: int
    reason: str  # "differs_from_solution" | "row_duplicate" | ... | "not_a_digit" | "clue_overwritten" | "bad_position"


def first_error(commits: Iterable, solution: str | None = None, puzzle: str | None = None,
                tokenizer=None) -> CommitError | None:
    """The first committed digit that contradicts `solution` or a Sudoku rule, or None.

    commits: per decoding step, (positions, tokens) — or {"positions": ..., "tokens": ...} — where
    tokens are token ids (mapped with `tokenizer`, default the Sudoku tokenizer) or digit
    characters (`trace_commits(trace, row)` gives this from a sampler Trace). Steps are numbered
    from 0 in list order. Rule checks use the board made of the
    puzzle's clues, all earlier commits and the earlier commits of the same step. Pure: nothing is
    decoded here."""
    board = parse_grid(puzzle) if puzzle is not None else [0] * N_CELLS
    clue = [v > 0 for v in board]
    sol = parse_grid(solution) if solution is not None else None
    for step, commit in enumerate(commits):
        positions, tokens = _unpack_commit(commit)
        if len(positions) != len(tokens):
            raise ValueError(f"step {step}: {len(positions)} positions but {len(tokens)} tokens")
        for p, t in zip(positions, tokens):
            p = int(p)
            d = _commit_digit(t, tokenizer)
            if not 0 <= p < N_CELLS:
                return CommitError(step, p, d, "bad_position")
            if d == 0:
                return CommitError(step, p, d, "not_a_digit")
            if clue[p] and board[p] != d:
                return CommitError(step, p, d, "clue_overwritten")
            if sol is not None and sol[p] != d:
                return CommitError(step, p, d, WRONG)
            for q in PEERS[p]:
                if board[q] == d:
                    return CommitError(step, p, d, DUPLICATE_KIND[SHAPE.shared_unit(p, q)])
            board[p] = d
    return None


def trace_commits(trace, row: int = 0) -> list[tuple[list[int], list[int]]]:
    """The per-step commits of batch row `row` of a sampler Trace (`boe_core.generate`), as
    [(positions, token ids), ...], one entry per decoding step in order (an entry is empty when the
    row committed nothing at that step, e.g. a row with fewer blanks than the run has steps), so
    list index == `StepRecord.step`. Ready for `first_error` / `first_error_step`. Pure."""
    out = []
    for rec in trace.records:
        pos = [int(p) for p in rec.chosen[row].nonzero()[0]]
        out.append((pos, [int(t) for t in rec.canvas_after[row][pos]]))
    return out


def first_error_step(commits: Iterable, solution: str | None = None, puzzle: str | None = None,
                     tokenizer=None) -> int | None:
    """The (0-based) decoding step at which a committed digit first contradicts the solution or a
    rule; None when no commit does. See `first_error`."""
    e = first_error(commits, solution, puzzle, tokenizer)
    return None if e is None else e.step
