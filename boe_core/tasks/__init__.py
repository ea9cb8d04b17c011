"""Task definitions (puzzle generators, verifiers, token layouts, metrics) used by the shipped models.

The built-in tasks and views register themselves at the bottom of their files; they are imported
here, one line each, so a new built-in is one new file and one line below. The bench's own
tasks (kjv-infill, kjv-gen, jsonl) register when `boe_core.bench` is imported: this package never
imports the bench.
"""
from __future__ import annotations

from . import task, views, reasoning  # noqa: F401  the registries first
from . import arith_cot, bio, countdown, sudoku4, sudoku6  # noqa: F401,E402  the reasoning tasks
from . import sudoku_view, reasoning_view  # noqa: F401,E402  the views (reasoning_view: one per reasoning task)
