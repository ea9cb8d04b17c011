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


def results_dir(task: str | None = None) -> Path:
    """The results folder, or a task's own subfolder of it."""
    in_checkout = (_CHECKOUT / "pyproject.toml").is_file()
    root = _env("BOE_RESULTS_DIR", _CHECKOUT / "results" if in_checkout else Path.cwd() / "results")
    return root / task if task else root


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
