#!/usr/bin/env python
"""The reasoning tables: a thin call into `python -m boe_core.bench table` (same flags, same
outputs; see boe_core/bench/table.py)."""
import sys

from boe_core.bench.table import main, markdown  # noqa: F401  (markdown: used by scripts/model_card.py)

if __name__ == "__main__":
    sys.exit(main())
