"""Test helpers for the explorer's tests (kept out of the app package)."""
from __future__ import annotations

from app.serve import free_port, live_server  # noqa: F401  (re-exported for the tests)


def default_model_or_reason() -> tuple[str | None, str]:
    """The model the app tests run against ("sudoku" if shipped, else "kjv"), or why there is none."""
    from boe_core import shipped_models
    from boe_core.paths import models_dir

    shipped = shipped_models()
    for name in ("sudoku", "kjv"):
        if name in shipped:
            return name, ""
    return None, (f"no shipped model in {models_dir()} (expected 'sudoku' or 'kjv', each a folder with "
                  f"config.json); train them with python -m boe_core.train sudoku / kjv, or point "
                  f"BOE_MODELS_DIR at a folder that has them")
