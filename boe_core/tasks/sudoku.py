"""Sudoku as a masked-diffusion task.

Layout: the canvas is the 81 cells in row-major order, one token per cell. Filled cells hold the
digit tokens '1'..'9'; blank cells hold [MASK]. There is no BOS/EOS; [PAD] exists only so that the
tokenizer has a pad id (nothing is padded: every canvas is exactly 81 long).

Puzzle / grid strings are 81 characters, row-major, with '0' or '.' for a blank (whitespace is
ignored, so a 9-line block also parses).

What is here:
  * a bitmask + MRV solution-counting solver (stops at `limit`, 2 for a uniqueness check),
  * a generator of random complete grids and of puzzles with a unique solution,
  * validity-preserving symmetries (digit relabelling, row/column permutations within bands/stacks,
    band/stack permutations, transpose), also in a batched torch form for training,
  * a verifier that reports every kind of violation,
  * `puzzle_to_canvas` / `canvas_to_grid` and the tokenizer,
  * metrics: `solve_rate`, `cell_accuracy`, `first_error_step` (pure, sampler-agnostic), and
    `trace_commits`, which turns a Trace of the project's sampler (`boe_core.generate`) into the
    per-step commits those metrics take. Nothing here decodes: the sampler is the only decoder.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import torch

from .text_grid import GridShape
from ..paths import examples_dir

N_CELLS = 81
DIGITS = "123456789"
BLANKS = "0."
SPECIAL_TOKENS = {"mask_token": "[MASK]", "pad_token": "[PAD]"}
_FULL = 0x1FF  # bits 0..8 <-> digits 1..9

# --- geometry --------------------------------------------------------------------------------
SHAPE = GridShape(3, 3)  # the grid engine the 4x4 and 6x6 text Sudokus use
UNITS = SHAPE.flat_units  # {"row" | "column" | "box": [[flat cell index, ...], ...]}
PEERS = SHAPE.flat_peers
# each cell's row, column and box number, for the bitmask solver
ROW, COL, BOX = ([next(k for k, u in enumerate(UNITS[kind]) if i in u) for i in range(N_CELLS)]
                 for kind in ("row", "column", "box"))
_POP = [bin(m).count("1") for m in range(512)]
_BITS = [[1 << k for k in range(9) if m >> k & 1] for m in range(512)]  # candidate bits of a mask
_DIGIT_OF_BIT = {1 << k: k + 1 for k in range(9)}


# --- parsing ---------------------------------------------------------------------------------
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


# --- solver ----------------------------------------------------------------------------------
class _State:
    __slots__ = ("g", "rows", "cols", "boxes", "empties")

    def __init__(self, cells: Sequence[int]):
        self.g = list(cells)
        self.rows = [0] * 9
        self.cols = [0] * 9
        self.boxes = [0] * 9
        self.empties = []
        for i, v in enumerate(self.g):
            if v == 0:
                self.empties.append(i)
                continue
            bit = 1 << (v - 1)
            r, c, b = ROW[i], COL[i], BOX[i]
            if (self.rows[r] | self.cols[c] | self.boxes[b]) & bit:
                raise ValueError("contradictory clues")
            self.rows[r] |= bit
            self.cols[c] |= bit
            self.boxes[b] |= bit


def _search(st: _State, limit: int, solutions: list, rng: random.Random | None) -> int:
    empties = st.empties
    if not empties:
        if len(solutions) < limit:
            solutions.append(list(st.g))
        return 1
    rows, cols, boxes = st.rows, st.cols, st.boxes
    best_k, best_mask, best_n = -1, 0, 10
    for k, i in enumerate(empties):  # MRV: the empty cell with the fewest candidates
        m = ~(rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]]) & _FULL
        n = _POP[m]
        if n < best_n:
            best_k, best_mask, best_n = k, m, n
            if n <= 1:
                break
    if best_n == 0:
        return 0
    i = empties[best_k]
    empties[best_k] = empties[-1]
    empties.pop()
    r, c, b = ROW[i], COL[i], BOX[i]
    bits = _BITS[best_mask]
    if rng is not None and len(bits) > 1:
        bits = list(bits)
        rng.shuffle(bits)
    count = 0
    for bit in bits:
        rows[r] |= bit
        cols[c] |= bit
        boxes[b] |= bit
        st.g[i] = _DIGIT_OF_BIT[bit]
        count += _search(st, limit - count, solutions, rng)
        rows[r] ^= bit
        cols[c] ^= bit
        boxes[b] ^= bit
        if count >= limit:
            break
    st.g[i] = 0
    empties.append(i)
    empties[best_k], empties[-1] = empties[-1], empties[best_k]
    return count


def count_solutions(puzzle, limit: int = 2) -> int:
    """Number of solutions of `puzzle` (str or list of ints), counting stops at `limit`.
    Contradictory clues give 0."""
    cells = parse_grid(puzzle) if isinstance(puzzle, str) else list(puzzle)
    try:
        st = _State(cells)
    except ValueError:
        return 0
    return _search(st, limit, [], None)


def solve(puzzle) -> str | None:
    """The solution if the puzzle has exactly one, else None."""
    cells = parse_grid(puzzle) if isinstance(puzzle, str) else list(puzzle)
    try:
        st = _State(cells)
    except ValueError:
        return None
    sols: list = []
    n = _search(st, 2, sols, None)
    return grid_to_str(sols[0]) if n == 1 else None


# --- generation ------------------------------------------------------------------------------
def _as_rng(rng) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    return random.Random(rng)


def random_solution(rng=None) -> str:
    """A uniformly-ish random complete valid grid (randomized backtracking with MRV)."""
    rng = _as_rng(rng)
    sols: list = []
    _search(_State([0] * 81), 1, sols, rng)
    return grid_to_str(sols[0])


def make_puzzle(solution: str, rng=None, target_clues: int = 36) -> str:
    """Remove clues from a complete `solution` in random order, keeping each removal only if the
    puzzle still has a unique solution, until `target_clues` clues remain (or no clue can be
    removed any more; the result then has more clues than asked). Returns the puzzle ('0' blanks)."""
    if not 17 <= target_clues <= 81:
        raise ValueError(f"target_clues={target_clues!r}: must be in [17, 81]")
    rng = _as_rng(rng)
    cells = parse_grid(solution)
    order = list(range(81))
    rng.shuffle(order)
    clues = 81
    for i in order:
        if clues <= target_clues:
            break
        v = cells[i]
        cells[i] = 0
        # Removing a clue never removes solutions, so only "still unique" needs checking. Fast
        # path: if the clues among i's peers leave a single candidate, cell i is forced and the
        # solution set is unchanged (still exactly one).
        seen = 0
        for q in PEERS[i]:
            if cells[q]:
                seen |= 1 << (cells[q] - 1)
        if _POP[seen] == 8 or count_solutions(cells, limit=2) == 1:
            clues -= 1
        else:
            cells[i] = v
    return grid_to_str(cells)


def generate_puzzle(rng=None, target_clues: int = 36) -> tuple[str, str]:
    """(puzzle, solution): a random puzzle with a unique solution and (normally) exactly
    `target_clues` clues (never fewer)."""
    rng = _as_rng(rng)
    sol = random_solution(rng)
    return make_puzzle(sol, rng, target_clues), sol


def n_clues(puzzle: str) -> int:
    return sum(ch not in BLANKS for ch in normalize_grid(puzzle))


# --- symmetries ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Symmetry:
    """A validity-preserving transform: out[r][c] = digit_map[in[row_perm[r]][col_perm[c]]], then
    optionally transposed. digit_map[0] = 0 keeps blanks blank."""
    row_perm: tuple
    col_perm: tuple
    digit_map: tuple
    transpose: bool = False

    def cell_perm(self) -> list[int]:
        """src[i]: the source cell that lands at output cell i."""
        src = [self.row_perm[r] * 9 + self.col_perm[c] for r in range(9) for c in range(9)]
        if self.transpose:
            src = [src[c * 9 + r] for r in range(9) for c in range(9)]
        return src

    def apply(self, grid: str) -> str:
        g = normalize_grid(grid)
        dm = self.digit_map
        return "".join(str(dm[int(g[j])]) for j in self.cell_perm())


def _line_perm(rng: random.Random) -> list[int]:
    bands = [0, 1, 2]
    rng.shuffle(bands)
    out = []
    for b in bands:
        inner = [0, 1, 2]
        rng.shuffle(inner)
        out += [3 * b + k for k in inner]
    return out


def random_symmetry(rng=None) -> Symmetry:
    rng = _as_rng(rng)
    digits = list(range(1, 10))
    rng.shuffle(digits)
    return Symmetry(tuple(_line_perm(rng)), tuple(_line_perm(rng)), tuple([0] + digits), rng.random() < 0.5)


def _batched_line_perm(B: int, g: torch.Generator) -> torch.Tensor:
    bands = torch.rand(B, 3, generator=g).argsort(-1)            # (B,3)
    inner = torch.rand(B, 3, 3, generator=g).argsort(-1)         # (B,3,3)
    return (3 * bands[:, :, None] + inner).reshape(B, 9)


def augment_batch(digits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Batched random symmetries for training. digits: (B, 81) long with values 1..9 (0 = blank is
    kept blank). Each row gets its own random relabelling, row/col/band/stack permutation and
    transpose."""
    B = digits.shape[0]
    g = generator
    rp = _batched_line_perm(B, g)
    cp = _batched_line_perm(B, g)
    src = rp[:, :, None] * 9 + cp[:, None, :]                     # (B,9,9)
    tr = torch.rand(B, generator=g) < 0.5
    src = torch.where(tr[:, None, None], src.transpose(1, 2), src).reshape(B, 81)
    out = digits.gather(1, src)
    dmap = torch.cat([torch.zeros(B, 1, dtype=torch.long),
                      torch.rand(B, 9, generator=g).argsort(-1) + 1], dim=1)  # (B,10)
    return dmap.gather(1, out)


# --- verification ----------------------------------------------------------------------------
LENGTH, CHARACTER, CLUE_CHANGED = "length", "character", "clue_changed"
ROW_DUP, COL_DUP, BOX_DUP = "row_duplicate", "column_duplicate", "box_duplicate"
UNFILLED, WRONG = "unfilled", "differs_from_solution"
VIOLATION_KINDS = (LENGTH, CHARACTER, CLUE_CHANGED, ROW_DUP, COL_DUP, BOX_DUP, UNFILLED, WRONG)
_UNIT_KIND = {"row": ROW_DUP, "column": COL_DUP, "box": BOX_DUP}


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
        changed = tuple(i for i in range(81) if p[i] and cells[i] != p[i])
        if changed:
            rep.violations.append(Violation(CLUE_CHANGED, changed, "clue cells altered"))
    for unit, groups in UNITS.items():
        for k, idx in enumerate(groups):
            seen: dict = {}
            for i in idx:
                if cells[i]:
                    seen.setdefault(cells[i], []).append(i)
            for d, where in seen.items():
                if len(where) > 1:
                    rep.violations.append(Violation(_UNIT_KIND[unit], tuple(where), f"digit {d} repeated in {unit} {k + 1}"))
    unfilled = tuple(i for i in range(81) if cells[i] == 0 and i not in bad)
    if unfilled:
        rep.violations.append(Violation(UNFILLED, unfilled, f"{len(unfilled)} cells unfilled"))
    if solution is not None:
        s = parse_grid(solution)
        wrong = tuple(i for i in range(81) if cells[i] and cells[i] != s[i])
        if wrong:
            rep.violations.append(Violation(WRONG, wrong, f"{len(wrong)} filled cells differ from the solution"))
    return rep


# --- tokens ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _default_tokenizer():
    return sudoku_tokenizer()


def sudoku_tokenizer():
    """The Sudoku tokenizer: [MASK]=0, [PAD]=1, '1'..'9' = 2..10."""
    from ..tokenization import char_tokenizer

    return char_tokenizer(list(DIGITS), dict(SPECIAL_TOKENS))


def digit_ids(tokenizer=None) -> list[int]:
    """Token ids of '1'..'9' (index d-1 -> id of digit d)."""
    tok = tokenizer or _default_tokenizer()
    ids = [tok.tk.token_to_id(d) for d in DIGITS]
    if any(i is None for i in ids):
        raise ValueError("tokenizer lacks a digit token '1'..'9'")
    return ids


def digit_lookup(tokenizer=None) -> torch.Tensor:
    """LongTensor[10]: digit value (0 = blank) -> token id (blank -> mask id)."""
    tok = tokenizer or _default_tokenizer()
    return torch.tensor([tok.mask_id] + digit_ids(tok), dtype=torch.long)


def id_to_digit_table(tokenizer=None) -> torch.Tensor:
    """LongTensor[vocab]: token id -> digit value, 0 for every non-digit token."""
    tok = tokenizer or _default_tokenizer()
    t = torch.zeros(tok.vocab_size, dtype=torch.long)
    for d, i in enumerate(digit_ids(tok), start=1):
        t[i] = d
    return t


def puzzle_to_canvas(puzzle_str: str, tokenizer=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids LongTensor[81], fixed BoolTensor[81]): clues become digit tokens and are fixed; blanks
    become the mask id."""
    cells = torch.tensor(parse_grid(puzzle_str), dtype=torch.long)
    ids = digit_lookup(tokenizer)[cells]
    return ids, cells > 0


def canvas_to_grid(ids, tokenizer=None, blank: str = "0") -> str:
    """Token ids (81) -> grid string; any non-digit token ([MASK], [PAD], ...) becomes `blank`."""
    tok = tokenizer or _default_tokenizer()
    ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    if len(ids) != N_CELLS:
        raise ValueError(f"canvas must have 81 tokens, got {len(ids)}")
    rev = {i: str(d) for d, i in enumerate(digit_ids(tok), start=1)}
    return "".join(rev.get(int(i), blank) for i in ids)


# --- metrics ---------------------------------------------------------------------------------
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
    p = normalize_grid(puzzle) if puzzle is not None else "0" * 81
    cells = [i for i in range(81) if p[i] in BLANKS]
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
    tokz = tokenizer or _default_tokenizer()
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
    board = parse_grid(puzzle) if puzzle is not None else [0] * 81
    clue = [v > 0 for v in board]
    sol = parse_grid(solution) if solution is not None else None
    for step, commit in enumerate(commits):
        positions, tokens = _unpack_commit(commit)
        if len(positions) != len(tokens):
            raise ValueError(f"step {step}: {len(positions)} positions but {len(tokens)} tokens")
        for p, t in zip(positions, tokens):
            p = int(p)
            d = _commit_digit(t, tokenizer)
            if not 0 <= p < 81:
                return CommitError(step, p, d, "bad_position")
            if d == 0:
                return CommitError(step, p, d, "not_a_digit")
            if clue[p] and board[p] != d:
                return CommitError(step, p, d, "clue_overwritten")
            if sol is not None and sol[p] != d:
                return CommitError(step, p, d, WRONG)
            for q in PEERS[p]:
                if board[q] == d:
                    kind = ROW_DUP if ROW[q] == ROW[p] else COL_DUP if COL[q] == COL[p] else BOX_DUP
                    return CommitError(step, p, d, kind)
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


# --- examples --------------------------------------------------------------------------------
EXAMPLES_PATH = examples_dir() / "sudoku.json"


def load_examples(path=None) -> list[dict]:
    """Example puzzles for the app and tests: [{"name", "level", "clues", "puzzle", "solution"}].

    One copy only: assets/examples/sudoku.json, written by scripts/make_sudoku_data.py with its
    examples seed (uniqueness is checked in tests)."""
    p = Path(path) if path else EXAMPLES_PATH
    if not p.is_file():
        raise FileNotFoundError(f"examples file {str(p)!r} is missing; run scripts/make_sudoku_data.py")
    return json.loads(p.read_text())
