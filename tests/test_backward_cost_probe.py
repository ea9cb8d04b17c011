"""The backward-cost probe times a BoE step that really runs its backward. A step where BoE falls
back to confidence (no usable probe) has none, and timing it would report kappa ~ 0; the probe
walks both runs forward to the first step with a backward, and refuses by name when there is none
(bio's 64-token answers at 8 steps)."""
from dataclasses import replace

import pytest
import torch

from boe_core import ConfigError, DecodeConfig, init_state
from boe_core.bench import cost


@pytest.fixture(scope="module")
def bio():
    from boe_core.bench.tasks import make_task
    from boe_core.models import load_model

    torch.set_num_threads(1)
    task = make_task("bio")
    adapter = load_model(task.default_model)
    ids, am = task.canvas(adapter, task.load("val", 4))
    return adapter, ids, am


def _setup(bio, steps):
    adapter, ids, am = bio
    base = DecodeConfig(steps=steps)
    cfgs = {"confidence": base.replace(policy="confidence"),
            "boe": base.replace(policy="boe", linearize_at="current")}
    return adapter, cfgs, {k: init_state(adapter, ids, c, am) for k, c in cfgs.items()}


def test_a_step_with_a_backward_is_timed_where_it_is(bio):
    adapter, cfgs, states = _setup(bio, 32)
    found = cost._first_state_with_backward(adapter, states, cfgs)
    assert found["boe"].step == found["confidence"].step == 0
    _, rec = cost.step(adapter, found["boe"], cfgs["boe"])
    assert rec.n_backward > 0


def test_the_probe_walks_past_steps_without_a_backward(bio, monkeypatch):
    adapter, cfgs, states = _setup(bio, 32)
    real, calls = cost.step, []

    def first_falls_back(a, s, c):  # the first BoE step reports no backward, as a fallback step does
        s2, rec = real(a, s, c)
        if c is cfgs["boe"]:
            calls.append(s.step)
            if len(calls) == 1:
                rec = replace(rec, n_backward=0)
        return s2, rec

    monkeypatch.setattr(cost, "step", first_falls_back)
    found = cost._first_state_with_backward(adapter, states, cfgs)
    assert found["boe"].step == found["confidence"].step == 1


def test_no_backward_in_the_whole_budget_is_refused_by_name(bio):
    adapter, cfgs, states = _setup(bio, 8)  # 8 tokens a step: BoE falls back at every step
    with pytest.raises(ConfigError, match="kappa"):
        cost._first_state_with_backward(adapter, states, cfgs)
    with pytest.raises(ConfigError, match="pass --kappa"):
        cost.backward_cost_probe(adapter, *bio[1:], steps=8, repeats=1)
