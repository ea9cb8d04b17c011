"""When does ActiveQueryAttention pay off? A measured crossover per device, not a fixed 50%.

kernels/crossover.json holds, per device name (``"cpu"`` or ``torch.cuda.get_device_name()``),
points ``{"L", "D", "rho_max"}``: the largest active fraction at which AQA's forward+backward
beat dense SDPA's, measured by benchmarks/bench_crossover.py. ``aqa_worth_it`` interpolates
rho_max in log2(L) at the nearest measured head size. Devices with no entry keep the old rule
(AQA up to half the rows active). $BOE_AQA_CROSSOVER points at another table file.
"""
from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path

import torch

TABLE_FILE = Path(__file__).with_name("crossover.json")
ENV_VAR = "BOE_AQA_CROSSOVER"
#: rule for devices never measured (the project's earlier fixed threshold)
FALLBACK_MAX_ACTIVE = 0.5


def table_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or TABLE_FILE)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict:
    data = json.loads(Path(path).read_text())
    if not isinstance(data.get("devices"), dict):
        raise ValueError(f"{path}: expected a top-level 'devices' object")
    return data


def load_table(path=None) -> dict:
    """The crossover table ({'devices': {name: entry}}); an empty one if the file is missing."""
    p = Path(path) if path is not None else table_path()
    if not p.is_file():
        return {"devices": {}}
    return _load(str(p), p.stat().st_mtime)


@lru_cache(maxsize=16)
def _cuda_name(index: int) -> str:
    return torch.cuda.get_device_name(index)


def device_key(device) -> str:
    """'cpu', or the CUDA device's marketing name (e.g. 'NVIDIA H200')."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return _cuda_name(dev.index if dev.index is not None else torch.cuda.current_device())
    return dev.type


def _table_key(device) -> str:
    """A torch device (or its string) maps to device_key; any other string is a key itself."""
    if isinstance(device, torch.device):
        return device_key(device)
    try:
        return device_key(torch.device(device))
    except (RuntimeError, TypeError):
        return str(device)


def crossover_rho(device, L: int, head_dim: int = 64, table=None) -> float | None:
    """Measured largest worthwhile active fraction at this L and head size; None if unmeasured."""
    table = load_table() if table is None else table
    entry = table["devices"].get(_table_key(device))
    points = (entry or {}).get("points") or []
    if not points:
        return None
    d_near = min({p["D"] for p in points}, key=lambda d: (abs(math.log2(d) - math.log2(head_dim)), -d))
    pts = sorted((p["L"], float(p["rho_max"])) for p in points if p["D"] == d_near)
    x = math.log2(max(int(L), 1))
    if x <= math.log2(pts[0][0]):
        return pts[0][1]
    for (l0, r0), (l1, r1) in zip(pts, pts[1:]):
        x0, x1 = math.log2(l0), math.log2(l1)
        if x <= x1:
            return r0 + (r1 - r0) * (x - x0) / (x1 - x0) if x1 > x0 else r1
    return pts[-1][1]


def aqa_worth_it(device, L: int, n_active: int, head_dim: int = 64, max_active: float | None = None,
                 table=None) -> bool:
    """Whether AQA's sparse backward beats the dense one for n_active of L query rows.

    device: torch device (or a table key such as 'NVIDIA H200'); L: sequence length;
    n_active: active rows (the largest count over the batch), a host-side int;
    head_dim: attention head size; max_active: explicit override (a fraction in [0, 1], the
    old ``aqa_max_active`` knob): when given, the table is not consulted.
    """
    if L <= 0:
        raise ValueError(f"aqa_worth_it: L must be positive, got L={L}")
    if n_active < 0:
        raise ValueError(f"aqa_worth_it: n_active must be >= 0, got n_active={n_active}")
    if max_active is not None:
        if not 0.0 <= max_active <= 1.0:
            raise ValueError(f"aqa_worth_it: max_active must be in [0, 1], got max_active={max_active}")
        return n_active <= max_active * L
    rho = crossover_rho(device, L, head_dim, table)
    return n_active <= (FALLBACK_MAX_ACTIVE if rho is None else rho) * L


def write_entry(key: str, entry: dict, path=None) -> Path:
    """Add or replace one device's entry in a table file (created if missing)."""
    p = Path(path) if path is not None else table_path()
    data = json.loads(p.read_text()) if p.is_file() else {"devices": {}}
    data.setdefault("devices", {})[key] = entry
    p.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    _load.cache_clear()
    return p
