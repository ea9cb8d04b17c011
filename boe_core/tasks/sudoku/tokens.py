"""The 9x9 Sudoku as a canvas: the 81 cells in row-major order, one token per cell. Filled cells
hold the digit tokens '1'..'9'; blank cells hold [MASK]. There is no BOS/EOS; [PAD] exists only
so that the tokenizer has a pad id (nothing is padded: every canvas is exactly 81 long)."""
from __future__ import annotations

from functools import lru_cache

import torch

from .rules import DIGITS, N_CELLS, parse_grid

SPECIAL_TOKENS = {"mask_token": "[MASK]", "pad_token": "[PAD]"}


@lru_cache(maxsize=1)
def default_tokenizer():
    """One shared `sudoku_tokenizer()`, for the functions here called without a tokenizer."""
    return sudoku_tokenizer()


def sudoku_tokenizer():
    """The Sudoku tokenizer: [MASK]=0, [PAD]=1, '1'..'9' = 2..10."""
    from ...tokenization import char_tokenizer

    return char_tokenizer(list(DIGITS), dict(SPECIAL_TOKENS))


def digit_ids(tokenizer=None) -> list[int]:
    """Token ids of '1'..'9' (index d-1 -> id of digit d)."""
    tok = tokenizer or default_tokenizer()
    ids = [tok.tk.token_to_id(d) for d in DIGITS]
    if any(i is None for i in ids):
        raise ValueError("tokenizer lacks a digit token '1'..'9'")
    return ids


def digit_lookup(tokenizer=None) -> torch.Tensor:
    """LongTensor[10]: digit value (0 = blank) -> token id (blank -> mask id)."""
    tok = tokenizer or default_tokenizer()
    return torch.tensor([tok.mask_id] + digit_ids(tok), dtype=torch.long)


def id_to_digit_table(tokenizer=None) -> torch.Tensor:
    """LongTensor[vocab]: token id -> digit value, 0 for every non-digit token."""
    tok = tokenizer or default_tokenizer()
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
    tok = tokenizer or default_tokenizer()
    ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    if len(ids) != N_CELLS:
        raise ValueError(f"canvas must have 81 tokens, got {len(ids)}")
    rev = {i: str(d) for d, i in enumerate(digit_ids(tok), start=1)}
    return "".join(rev.get(int(i), blank) for i in ids)
