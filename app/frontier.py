"""The "Frontier" tab: the quality-vs-compute chart of the last sweeps in results/."""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def sweep_files() -> list[str]:
    """Sweep CSVs, newest first (``python -m boe_core.bench pareto`` writes results/<task>_pareto.csv)."""
    if not RESULTS.is_dir():
        return []
    files = sorted(RESULTS.glob("*_pareto.csv"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.name for p in files]


def frontier_plot(name: str | None, x: str = "fwd_equiv"):
    """(figure or None, message) for one sweep file; only files listed by sweep_files() are read."""
    from boe_core.bench import frontier_figure

    if not name:
        return None, "No sweep results yet: run `python -m boe_core.bench pareto --task sudoku ...`."
    if name not in sweep_files():
        return None, f"sweep={name!r}: not a results file (known: {', '.join(sweep_files()) or 'none'})"
    return frontier_figure(RESULTS / name, x=x), f"`results/{name}`"
