"""Bench subcommands that measure one model or one question rather than sweep policies
(`python -m boe_core.bench <name> --help`). Each module has its own parser; `run` imports only the
one asked for, so the bench's start-up stays light."""
from __future__ import annotations

COMMANDS = {
    "eval-sudoku": "a Sudoku model on held-out puzzles: solve rate, cell accuracy, first-error step",
    "eval-kjv": "the KJV model: one-pass masked-token accuracy and span infilling on the test verses",
    "eval-text": "does a text model write language: masked accuracy, repeats and distinct-2 of continuations",
    "probe-arith": "arith-cot teacher-forced probes (results right with what follows masked) and commit order",
    "probe-countdown": "countdown commit-order counts per policy and tokens per step",
    "bio-cascades": "root / cascade breakdown of the bio failures of a `bench table` run's outputs",
    "val-boe-adaptive": "the validation-only choice of BoE-adaptive's shipped variant",
    "pilot-selfcheck": "issue #29 pilot: K decodes per puzzle, keep the grid the model believes most (no checker)",
    "pilot-backtrack": "issue #29 pilot: back to the most doubted commit, its second choice, keep by pseudo-likelihood",
    "probe-order": "issue #29 probe: where confidence's pick goes wrong along the oracle's walk, and whether a lookahead tells",
    "roots-weight": "issue #27: reread-surprise's weight, from the roots bench's cached validation runs",
    "ordering-gap": "the ordering gap table: oracle vs the best checker-free policy vs confidence (reads results)",
    "planner-paired": "issue #29: the planner, view-hop and restarts against confidence, threshold and RCR, paired per puzzle (reads results)",
    "restarts": "issue #29: view-hop, and decode again from another view when the model doubts its grid",
    "backtrack": "issue #29: view-hop, undoing its latest guess whenever the model doubts what it wrote",
}


def _module(name: str):
    if name == "eval-sudoku":
        from . import eval_sudoku as m
    elif name == "eval-kjv":
        from . import eval_kjv as m
    elif name == "eval-text":
        from . import eval_text as m
    elif name == "probe-arith":
        from . import probe_arith as m
    elif name == "probe-countdown":
        from . import probe_countdown as m
    elif name == "bio-cascades":
        from . import bio_cascades as m
    elif name == "pilot-selfcheck":
        from . import pilot_selfcheck as m
    elif name == "pilot-backtrack":
        from . import pilot_backtrack as m
    elif name == "probe-order":
        from . import probe_order as m
    elif name == "roots-weight":
        from . import roots_weight as m
    elif name == "ordering-gap":
        from . import ordering_gap as m
    elif name == "planner-paired":
        from . import planner_paired as m
    elif name == "restarts":
        from . import restarts as m
    elif name == "backtrack":
        from . import backtrack as m
    else:
        from . import val_boe_adaptive as m
    return m


def run(name: str, argv: list[str]) -> int:
    """Run subcommand `name` (a key of COMMANDS) with its own flags; its exit status."""
    rc = _module(name).main(argv)
    return rc if isinstance(rc, int) else 0  # some return their results
