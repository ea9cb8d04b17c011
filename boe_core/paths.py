"""Where the project's files are: models, data, examples (stories, puzzles) and results.

Every lookup of a folder outside the Python packages goes through here, so an installed wheel (no
repository around it) works once an environment variable points at the files:

    BOE_ASSETS_DIR   the folder holding models/, data/ and examples/ (default: the checkout's assets/)
    BOE_MODELS_DIR   the shipped models (default: <assets>/models)
    BOE_DATA_DIR     corpora and puzzle splits (default: <assets>/data)
    BOE_EXAMPLES_DIR stories and examples (default: <assets>/examples)
    BOE_RESULTS_DIR  where the bench writes and the explorer reads results (default: the checkout's
                     results/, or ./results outside a checkout)
    BOE_RUNS_DIR     scratch: caches and checkpoints, never committed (default: runs/ beside results/)

Each function reads its variable when called. A few modules keep a constant made at import (the
corpus files, the stories folder): set the variables before importing boe_core.

The results folder has one folder per task (results/README.md says the same):

    results/<task>/<what>_<split>[_<tag>].<ext>   one task's results, e.g. results/sudoku/frontier_test.csv,
                                                  results/sudoku/roots_hard_val.md, results/arith-cot/reasoning_test.csv
    results/studies/                              what spans several tasks: the frontier summary, ordering_gap,
                                                  reasoning_eval_* tables over several tasks, boe_adaptive_val
    results/archive/                              superseded tables, kept for the record
    results/<task>/roots/                         the roots bench's per-run cache (git-ignored)

`<task>` is the bench task's name (--task); a text model evaluated on corpora (eval-text) files under the
model's name (english, kjv). Nothing here creates a folder: a writer makes its file's parent when it writes.
"""
from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]  # the repository, when boe_core runs from one


def _env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def assets_dir() -> Path:
    return _env("BOE_ASSETS_DIR", _CHECKOUT / "assets")


def models_dir() -> Path:
    return _env("BOE_MODELS_DIR", assets_dir() / "models")


def data_dir() -> Path:
    return _env("BOE_DATA_DIR", assets_dir() / "data")


def examples_dir() -> Path:
    return _env("BOE_EXAMPLES_DIR", assets_dir() / "examples")


STUDIES = "studies"  # the results subfolder for what spans several tasks


def results_dir(task: str | None = None) -> Path:
    """The results folder, or a task's own subfolder of it."""
    in_checkout = (_CHECKOUT / "pyproject.toml").is_file()
    root = _env("BOE_RESULTS_DIR", _CHECKOUT / "results" if in_checkout else Path.cwd() / "results")
    return root / task if task else root


def results_for(task: str) -> Path:
    """One task's results folder, results/<task>/ (not created here: writers make it when they write)."""
    if not task or "/" in task or task.startswith("."):
        raise ValueError(f"task={task!r}: a results folder is named by one task name")
    return results_dir() / task


def result_file(task: str, what: str, split: str | None = None, tag: str = "", ext: str = "csv") -> Path:
    """results/<task>/<what>_<split>[_<tag>].<ext>, the one naming rule for a result file. A tag's
    leading underscores are dropped, so `--tag _bio500` and `--tag bio500` name the same file."""
    stem = "_".join(p for p in (what, split, tag.lstrip("_")) if p)
    return results_for(task) / f"{stem}.{ext.lstrip('.')}"


def studies_dir() -> Path:
    """results/studies/: what spans several tasks."""
    return results_dir() / STUDIES


def runs_dir() -> Path:
    in_checkout = (_CHECKOUT / "pyproject.toml").is_file()
    return _env("BOE_RUNS_DIR", _CHECKOUT / "runs" if in_checkout else Path.cwd() / "runs")


def require(path: Path, what: str) -> Path:
    """`path` if it exists; otherwise a FileNotFoundError that says what is missing and which
    variable points at it."""
    path = Path(path)
    if path.exists():
        return path
    raise FileNotFoundError(f"{what} not found at {path}. Outside a checkout of the repository, set "
                            f"BOE_ASSETS_DIR to the folder holding models/, data/ and examples/ "
                            f"(or BOE_MODELS_DIR / BOE_DATA_DIR / BOE_EXAMPLES_DIR for one of them).")
