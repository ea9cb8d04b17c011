"""The model's belief in a finished canvas, read back a group at a time.

Each decoded token is scored with its group of decoded positions masked (the positions in
`groups` interleaved groups, one masked copy of the canvas each). On Sudoku this tells a right grid
from a wrong one almost as well as masking every cell alone, at a few forwards (docs/ordering_gap.md);
root repair's gate and acceptance and the read-back root finders use it.
"""
from __future__ import annotations

import numpy as np
import torch

from .numerics import suppress


def _token_log_probs(model, x: torch.Tensor, want: torch.Tensor, a, max_logits: int) -> torch.Tensor:
    """(R, N) float32: log p(want | x) at every position of the R masked copies `x`, read in
    batches of at most `max_logits` logits (rows x N x vocab)."""
    chunk = max(1, max_logits // (x.shape[1] * model.embedding_matrix().shape[0]))
    read = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
    for s in range(0, x.shape[0], chunk):
        sl = slice(s, s + chunk)
        lp = torch.log_softmax(suppress(model.head(model.hidden(model.embed(x[sl]), None if a is None else a[sl])),
                                        model.suppressed_ids).float(), -1)
        read[sl] = lp.gather(2, want[sl][..., None]).squeeze(-1)
    return read


@torch.no_grad()
def grouped_reads(model, canvases: np.ndarray, decoded: np.ndarray, am, groups: int,
                  max_logits: int = 1 << 25) -> np.ndarray:
    """(M, D) float32: for each of the M canvases (M, N), the log-probability of each of its D
    decoded tokens (`decoded` (N,) bool, shared) with that token's group masked. The M x groups
    masked copies go through the model in batches of at most `max_logits` logits (rows x N x vocab)."""
    canvases = np.asarray(canvases).reshape(-1, len(decoded))
    cells = np.flatnonzero(decoded)
    parts = [cells[g::groups] for g in range(groups) if len(cells[g::groups])]
    M = canvases.shape[0]
    out = np.zeros((M, len(cells)), np.float32)
    if not parts or not M:
        return out
    dev = model.device
    tok = torch.as_tensor(canvases, device=dev)
    x = tok.repeat_interleave(len(parts), 0)  # row i * len(parts) + g: canvas i with group g masked
    where = np.zeros((len(parts), len(decoded)), bool)
    for g, part in enumerate(parts):
        where[g, part] = True
    masked = torch.as_tensor(np.tile(where, (M, 1)), device=dev)
    x[masked] = model.mask_id
    a = None if am is None else torch.as_tensor(am, device=dev)[None].expand(x.shape[0], -1)
    read = _token_log_probs(model, x, tok.repeat_interleave(len(parts), 0), a, max_logits)
    # each decoded cell is read from the copy that masked it
    read = (read * masked).reshape(M, len(parts), -1).sum(1)
    return read[:, torch.as_tensor(cells, device=dev)].cpu().numpy()


def grouped_pll(model, canvas: np.ndarray, decoded: np.ndarray, am, groups: int) -> tuple[float, float]:
    """The model's belief in a finished canvas: (sum, min) of the log-probability of every decoded
    token with its group masked (the decoded positions in `groups` interleaved groups, one canvas
    each: `groups` forwards in one batch)."""
    read = grouped_reads(model, canvas[None], decoded, am, groups)[0]
    if not len(read):
        return 0.0, 0.0
    return float(read.sum(dtype=np.float64)), float(read.min())


@torch.no_grad()
def grouped_reads_rows(model, canvases: np.ndarray, decoded: np.ndarray, am, groups: int,
                       max_logits: int = 1 << 25) -> np.ndarray:
    """(M, N) float32: like `grouped_reads`, with each canvas's own decoded positions (`decoded`
    (M, N) bool): each row's decoded tokens in `groups` interleaved groups, one masked copy each;
    NaN where a row decoded nothing. Rows with nothing decoded cost no forward."""
    canvases = np.asarray(canvases)
    decoded = np.asarray(decoded, bool)
    M, N = canvases.shape
    out = np.full((M, N), np.nan, np.float32)
    copies, wheres, owner = [], [], []
    for i in range(M):
        cells = np.flatnonzero(decoded[i])
        for g in range(groups):
            part = cells[g::groups]
            if len(part):
                w = np.zeros(N, bool)
                w[part] = True
                copies.append(canvases[i])
                wheres.append(w)
                owner.append(i)
    if not copies:
        return out
    dev = model.device
    tok = torch.as_tensor(np.stack(copies), device=dev)
    where = torch.as_tensor(np.stack(wheres), device=dev)
    x = tok.masked_fill(where, model.mask_id)
    a = None if am is None else torch.as_tensor(np.asarray(am)[owner], device=dev)
    read = (_token_log_probs(model, x, tok, a, max_logits) * where).cpu().numpy()
    owner = np.asarray(owner)
    for i in np.unique(owner):
        out[i, decoded[i]] = read[owner == i].sum(0)[decoded[i]]
    return out
