"""Compacted per-batch lists of active query rows, shared by the reference and Triton paths."""
import torch


def active_rows(active: torch.Tensor):
    """Return (idx, counts, max_count) for a (B, L) bool mask.

    idx is (B, max_count) int64: row b lists its active query indices in ascending order,
    then (only for padding up to max_count) distinct inactive indices. Callers must ignore
    slots j >= counts[b]. counts is (B,) int64; max_count is a Python int.
    """
    counts = active.sum(dim=1)
    max_count = int(counts.max()) if active.numel() else 0
    # A stable sort on "is inactive" puts the active rows first, each group in index order.
    order = torch.argsort((~active).to(torch.int8), dim=1, stable=True)
    return order[:, :max_count], counts, max_count


def active_index(active: torch.Tensor):
    """(idx, counts) for the Triton path, with no host sync: idx is (B, L) int32 listing each
    item's active rows first (ascending), counts (B,) int32. Slots j >= counts[b] are unused."""
    counts = active.sum(dim=1, dtype=torch.int32)
    idx = torch.argsort((~active).to(torch.int8), dim=1, stable=True).to(torch.int32)
    return idx, counts
