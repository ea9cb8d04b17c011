"""The "Frontier" tab: quality against compute of the sweeps in the configured results folder
(boe_core.paths.results_dir(), BOE_RESULTS_DIR), one folder per task: results/<task>/frontier_<split>.csv
from ``python -m boe_core.bench frontier``, and the older step sweeps results/<task>/pareto_<split>.csv."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from boe_core.paths import STUDIES, results_dir

FRONTIER, SWEEP = "frontier_*.csv", "pareto_*.csv"
SKIP = {STUDIES, "archive"}  # not task folders
DEFAULT_TASK = "sudoku"  # first among frontiers made at the same moment (the default model's task)


def newest_row(path: Path) -> str:
    """The latest `created` stamp in a sweep CSV (the bench writes one per cell, ISO 8601, so text
    order is time order); '' when the file has none. A file's mtime is no use: a clone resets it."""
    try:
        created = pd.read_csv(path, usecols=["created"])["created"].dropna().astype(str)
    except (ValueError, pd.errors.EmptyDataError):
        return ""
    return created.max() if len(created) else ""


def sweep_files() -> list[str]:
    """The sweep CSVs as paths under the results folder (e.g. 'sudoku/frontier_test.csv'): the
    frontiers first (the current protocol, with the measured backward cost), then the older step
    sweeps; within each, the newest first by the cells' recorded `created` stamps, the default
    task first on a tie, then by name. So the tab opens the newest frontier."""
    root = results_dir()
    if not root.is_dir():
        return []
    found = [(rank, p) for rank, pat in enumerate((FRONTIER, SWEEP)) for p in root.glob(f"*/{pat}")
             if p.parent.name not in SKIP]
    stamps = {p: newest_row(p) for _, p in found}
    age = {s: i for i, s in enumerate(sorted(set(stamps.values()), reverse=True))}  # 0: the newest

    def key(rank_path):
        rank, p = rank_path
        return rank, age[stamps[p]], p.parent.name != DEFAULT_TASK, p.relative_to(root).as_posix()

    return [p.relative_to(root).as_posix() for _, p in sorted(found, key=key)]


def frontier_plot(name: str | None, x: str = "fwd_equiv"):
    """(figure or None, message) for one sweep file; only files listed by sweep_files() are read.
    A frontier file draws one line per policy over its budget knob (steps, τ or γ), the upper-left
    envelope and who owns each part of it."""
    from boe_core.bench import frontier_figure

    if not name:
        return None, "No sweep results yet: run `python -m boe_core.bench frontier`."
    known = sweep_files()
    if name not in known:
        return None, f"sweep={name!r}: not a results file (known: {', '.join(known) or 'none'})"
    path = results_dir() / name
    where = f"`{path.parent.parent.name}/{name}`"
    if not path.name.startswith("frontier_"):
        return frontier_figure(path, x=x), where
    from boe_core.bench.frontier import envelope_table, frontier_chart, owners

    df = pd.read_csv(path)
    segs = owners(envelope_table(df))
    who = "; ".join(f"{f} from {a:.0f}" for a, _, f in segs)
    return frontier_chart(df), f"{where} · envelope owners by forward-equivalents: {who}"
