"""Shared test helpers for the training recipes."""
from __future__ import annotations

from boe_core import train
from boe_core.models import training

_LOOP = training.TrainLoop  # the real loop, whatever an earlier call patched in


def recipe_losses(monkeypatch, argv, n=3):
    """Run `python -m boe_core.train ARGV` for n optimiser steps (evaluation off); the step losses."""
    losses = []

    class Recording(_LOOP):
        def __init__(self, step_fn, *a, **k):
            def step(i):
                out = step_fn(i)
                losses.append(out.loss)
                return out
            k.update(max_steps=n, log_every=1, evaluate=None, eval_every=None)
            super().__init__(step, *a, **k)

    monkeypatch.setattr(training, "TrainLoop", Recording)
    assert train.main(argv) == 0
    return losses
