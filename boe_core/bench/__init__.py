"""Benchmarks of decoding policies: quality-vs-compute frontiers, BoE tuning, sharded runs.

    python -m boe_core.bench pareto --task sudoku --budgets 12 24 48
    from boe_core.bench import frontier_figure; frontier_figure("results/sudoku/pareto_test.csv").show()
"""
from .paired import mcnemar_exact_p, paired_counts, paired_with_reference
from .plot import frontier_figure, pareto_mask, write_html, write_png
from .report import markdown_table
from .runner import Sweep, read_results, run_sweep
from .specs import PolicySpec, parse_spec, parse_specs
from .tasks import (TASKS, JsonlTask, KJVGenTask, KJVInfillTask, ReasoningBenchTask, SudokuTask,
                    make_extractor, make_task)
from .textmetrics import ARPerplexity, distinct_n

__all__ = ["ARPerplexity", "JsonlTask", "KJVGenTask", "KJVInfillTask", "PolicySpec", "ReasoningBenchTask", "SudokuTask", "Sweep",
           "TASKS",
           "distinct_n", "frontier_figure", "make_extractor", "make_task", "markdown_table", "mcnemar_exact_p",
           "paired_counts", "paired_with_reference", "pareto_mask", "parse_spec",
           "parse_specs", "read_results", "run_sweep", "write_html", "write_png"]
