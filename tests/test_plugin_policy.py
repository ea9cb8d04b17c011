"""A policy with two knobs and a signal, added from this file alone: the core, the CLI, the bench
spec parser and the explorer (its knob inputs and the API) all pick it up from its declarations."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from boe_core import Signal, Trace, generate
from boe_core.bench.specs import parse_spec
from boe_core.errors import ConfigError
from boe_core.knobs import knob
from boe_core.policies import POLICIES
from boe_core.policies.base import Policy, PolicyResult, masked_scores, no_fallback


@dataclass
class EdgeSettings:
    side: str = knob("left", "Side", "which end of the canvas is committed first", choices=("left", "right"),
                     group="order")
    weight: float = knob(1.0, "w · signal weight", "scale of the toy_rank signal", range=(0.0, 10.0), group="order")

    def validate(self):
        if self.side not in ("left", "right"):
            raise ConfigError("side", self.side, "must be 'left' or 'right'")
        if not 0 <= self.weight <= 10:
            raise ConfigError("weight", self.weight, "must be in [0, 10]")
        return self


class EdgeFirst(Policy):
    """Commits from one end of the canvas; emits weight x position as a signal."""
    name = "toy-edge"
    description = "one end of the canvas first (test only)"
    settings_cls = EdgeSettings
    signals = (Signal("toy_rank", "weighted position", colorscale="Greys"),)

    def score(self, ctx):
        pos = torch.arange(ctx.ids.shape[1], dtype=torch.float64).expand(ctx.ids.shape)
        s = -pos if ctx.settings.side == "left" else pos
        return PolicyResult(masked_scores(s, ctx.eligible), no_fallback(ctx),
                            signals={"toy_rank": (ctx.settings.weight * pos).float()})


@pytest.fixture
def edge():
    with POLICIES.registered(EdgeFirst()) as p:
        yield p


def test_core_reads_the_knobs(tiny, edge):
    left = generate(tiny, "ab", gen_length=6, steps=3, policy="toy-edge")
    right = generate(tiny, "ab", gen_length=6, steps=3, policy="toy-edge", side="right", weight=2.5)
    first = lambda tr: int(np.flatnonzero(tr.records[0].chosen[0])[0])  # noqa: E731
    assert first(left) < first(right)
    assert right.records[0].signals["toy_rank"][0, 4] == pytest.approx(10.0)
    assert Trace.from_json(right.to_json()).config["settings"] == {"side": "right", "weight": 2.5}
    with pytest.raises(ConfigError, match="side"):
        generate(tiny, "ab", gen_length=6, steps=3, policy="toy-edge", side="middle")


def test_cli_and_bench_specs_read_the_knobs(edge):
    from boe_core.cli import _add_decode_args, _config
    import argparse

    p = argparse.ArgumentParser()
    _add_decode_args(p)
    cfg = _config(p.parse_args(["--policy", "toy-edge", "--side", "right", "--weight", "3"]))
    assert (cfg.settings.side, cfg.settings.weight) == ("right", 3.0)
    assert parse_spec("toy-edge:side=right,weight=0.5").config(steps=2).settings.weight == 0.5
    with pytest.raises(ConfigError, match="weight"):
        parse_spec("toy-edge:weight=11")


def test_explorer_builds_its_knob_inputs(edge):
    from app import ui
    from app.inputs import knobs_of, scoped_knobs

    assert {("toy-edge", "side"), ("toy-edge", "weight")} <= {(p, k.name) for p, k in scoped_knobs()}
    assert knobs_of("toy-edge") == {"side", "weight"}
    groups = ("boe", "toy-edge", "threshold")
    shown = ui.on_policy("toy-edge", groups)
    vis = dict(zip(groups, [u["visible"] for u in shown[1:]]))
    assert vis == {"boe": False, "toy-edge": True, "threshold": False}  # only its own group
    assert shown[0]["visible"]  # the knobs accordion
    assert not ui.on_policy("confidence", groups)[0]["visible"]  # confidence has no knobs


@pytest.mark.slow
def test_explorer_api_sets_its_knobs(edge):
    from gradio_client import Client

    from app_helpers import default_model_or_reason, live_server

    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    torch.set_num_threads(1)
    with live_server(concurrency=1) as url:
        c = Client(url, verbose=False)
        params = {p["parameter_name"] for p in c.view_api(return_format="dict", print_info=False)
                  ["named_endpoints"]["/run"]["parameters"]}
        assert "settings" in params and "side" not in params  # settings go per policy, as one object
        kw = dict(model=name, steps=3, policy="toy-edge", settings={"side": "right", "weight": 2.5})
        if name != "sudoku":
            kw.update(prompt="And God said", gen_length=6)
        out = c.predict(**kw, api_name="/run")
        assert out[7]["done"]
        tr = Trace.from_json(open(c.predict(fmt="json", api_name="/export")).read())
    assert tr.config["policy"] == "toy-edge" and tr.config["settings"] == {"side": "right", "weight": 2.5}
    masked = np.flatnonzero(tr.initial_canvas[0] == tr.mask_id)
    first = np.flatnonzero(tr.records[0].chosen[0])
    assert list(first) == list(masked[-len(first):])  # the right end first
    sig = tr.records[0].signals["toy_rank"][0]
    assert sig[int(masked[0])] == pytest.approx(2.5 * int(masked[0]))


def test_a_removed_policy_takes_its_signals_along():
    from boe_core.signals import all_signals

    with POLICIES.registered(EdgeFirst()):
        assert "toy_rank" in all_signals()
    assert "toy_rank" not in all_signals() and "tis" in all_signals()
