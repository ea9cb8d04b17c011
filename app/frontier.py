"""The "Frontier" tab: the quality-vs-compute chart of the last sweeps in results/."""
from __future__ import annotations

from boe_core.paths import results_dir

RESULTS = results_dir()
PATTERNS = ("frontier_*.csv", "*_pareto.csv")  # python -m boe_core.bench frontier, ... pareto


def sweep_files() -> list[str]:
    """Sweep CSVs: the frontiers first (``python -m boe_core.bench frontier`` writes
    results/frontier_<task>.csv; the current protocol, with the measured backward cost), newest
    first and the default model's task first among equals; then the older step sweeps
    (results/<task>_pareto.csv). A fresh clone gives every file the same age, so age alone would
    open an old sweep."""
    if not RESULTS.is_dir():
        return []
    files = {p for pat in PATTERNS for p in RESULTS.glob(pat)}

    def key(p):
        return (not p.name.startswith("frontier_"), -int(p.stat().st_mtime), p.name != "frontier_sudoku.csv", p.name)

    return [p.name for p in sorted(files, key=key)]


def frontier_plot(name: str | None, x: str = "fwd_equiv"):
    """(figure or None, message) for one sweep file; only files listed by sweep_files() are read.
    A frontier file draws one line per policy over its budget knob (steps, τ or γ), the upper-left
    envelope and who owns each part of it."""
    from boe_core.bench import frontier_figure

    if not name:
        return None, "No sweep results yet: run `python -m boe_core.bench frontier`."
    if name not in sweep_files():
        return None, f"sweep={name!r}: not a results file (known: {', '.join(sweep_files()) or 'none'})"
    if not name.startswith("frontier_"):
        return frontier_figure(RESULTS / name, x=x), f"`results/{name}`"
    import pandas as pd

    from boe_core.bench.frontier import envelope_table, frontier_chart, owners

    df = pd.read_csv(RESULTS / name)
    segs = owners(envelope_table(df))
    who = "; ".join(f"{f} from {a:.0f}" for a, _, f in segs)
    return frontier_chart(df), f"`results/{name}` · envelope owners by forward-equivalents: {who}"
