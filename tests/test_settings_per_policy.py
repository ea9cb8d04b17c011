"""Settings are addressed per policy: a run that names only its policy gets that policy's own
defaults, whether it comes from the library, the HTTP API, the explorer's form or the CLI.

Before, each knob name had one API parameter and one input, described by the first policy that
declared it, so `/run` with `policy="lookahead"` ran BoE's `gate="threshold", r=8` instead of
lookahead's `gate="product", r=None` (and boe-adaptive and boe-revise were off the same way)."""
from __future__ import annotations

import argparse

import pytest
import torch

from app import handlers as H, models
from app.inputs import scoped_knobs, scoped_name
from app.session import Session
from boe_core import ConfigError, POLICIES, Trace, generate
from boe_core.tasks.sudoku import load_examples

STEPS = 2


@pytest.fixture(scope="module")
def sudoku():
    torch.set_num_threads(1)
    models.configure()
    if "sudoku" not in models.model_choices():
        pytest.fail("the shipped sudoku model is missing")
    return models.get_adapter("sudoku")


def library_settings(adapter, policy: str) -> dict:
    """The settings `generate(policy=name)` exports in its trace."""
    from boe_core.tasks.sudoku import puzzle_to_canvas

    ex = load_examples()[0]
    ids, _ = puzzle_to_canvas(ex["puzzle"], adapter.tokenizer)
    target = puzzle_to_canvas(ex["solution"], adapter.tokenizer)[0] if policy == "oracle" else None
    tr = generate(adapter, canvas=ids, policy=policy, steps=STEPS, target=target)
    return Trace.from_json(tr.to_json()).config["settings"]


def api_values(policy: str, **over) -> dict:
    """The API's run inputs with only the policy named (no settings given)."""
    d = H.default_inputs("sudoku")
    v = dict(model="sudoku", prompt=d["prompt"], gen_length=8, puzzle=load_examples()[0]["puzzle"], policy=policy,
             steps=STEPS, block_length=0, temperature=0.0, seed=0)
    v.update(over)
    return v


@pytest.mark.parametrize("policy", list(POLICIES.names()))
def test_the_api_with_no_settings_runs_the_librarys_defaults(sudoku, policy):
    out = H.reset(Session(), **api_values(policy))  # the run's config and trace (no step yet)
    sess = out[0]
    if sess.trace is None:  # a ceiling that reads the answer: the explorer's free canvas has none
        assert "reads the answer" in out[-2], out[-2]
        return
    assert sess.trace.config["settings"] == library_settings(sudoku, policy)


def test_the_reported_mismatches_are_gone(sudoku):
    """The three policies the bug report named, spelled out."""
    got = {}
    for policy in ("boe-adaptive", "lookahead", "boe-revise"):
        sess = H.reset(Session(), **api_values(policy))[0]
        got[policy] = sess.trace.config["settings"]
    assert got["boe-adaptive"]["linearize_at"] == "current"
    assert (got["lookahead"]["gate"], got["lookahead"]["r"]) == ("product", None)
    assert got["boe-revise"]["use_aqa"] is False


def test_the_api_refuses_a_setting_the_policy_does_not_have():
    out = H.reset(Session(), **api_values("lookahead", settings={"linearize_at": "current"}))
    assert out[0].trace is None  # refused: Reset says why in the messages
    assert 'class="msg warn"' in out[-2] and "not a setting of policy &#x27;lookahead&#x27;" in out[-2]
    with pytest.raises(ConfigError, match="settings.linearize_at='current': is not a setting of policy 'lookahead'"):
        list(H.run(Session(), **api_values("lookahead", settings={"linearize_at": "current"})))
    # a setting it has is taken, the rest keep its defaults
    sess = H.reset(Session(), **api_values("lookahead", settings={"gamma": 3.0}))[0]
    assert sess.trace.config["settings"]["gamma"] == 3.0 and sess.trace.config["settings"]["gate"] == "product"


def _form(demo):
    """The explorer's knob inputs with the values they start with, by scoped name."""
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    return {scoped_name(p, k.name): by_id[f"knob-{p}-{k.name}"].value for p, k in scoped_knobs()}


def test_switching_the_policy_in_the_explorer_runs_that_policys_defaults(sudoku):
    from app import ui

    demo = ui.build_demo()
    start = _form(demo)
    # a preset of another policy changes BoE's shared-name knobs first (the gate, r): they must not leak
    preset = ui.on_preset("BoE · threshold gate (τ_c=0.9)")
    for (owner, k), value in zip(scoped_knobs(), preset[1:]):
        if not isinstance(value, dict):  # gr.skip() is a dict update
            start[scoped_name(owner, k.name)] = value
    groups = tuple(p for p in POLICIES.names() if POLICIES.get(p).knobs())
    F = H.form_handlers(scoped_knobs())
    fixed = api_values("confidence")
    for policy in POLICIES.names():
        shown = ui.on_policy(policy, groups)
        assert [u["visible"] for u in shown[1:]] == [g == policy for g in groups]
        fixed["policy"] = policy
        values = [fixed[n] for n in ("model", "prompt", "gen_length", "puzzle", "policy", "steps", "block_length",
                                     "temperature", "seed")]
        knob_values = [start[scoped_name(p, k.name)] for p, k in scoped_knobs()]
        out = F["reset"](Session(), *values, *knob_values, "none")
        sess = out[0]
        if sess.trace is None:  # as above: a ceiling that needs the answer
            assert "reads the answer" in out[-2], out[-2]
            continue
        assert sess.trace.config["settings"] == library_settings(sudoku, policy), policy


def test_the_cli_scopes_its_flags_by_policy():
    from boe_core.cli import _add_decode_args, _config

    p = argparse.ArgumentParser()
    _add_decode_args(p)
    assert _config(p.parse_args(["--policy", "lookahead"])).settings.gate == "product"
    assert _config(p.parse_args(["--policy", "boe"])).settings.gate == "threshold"
    assert _config(p.parse_args(["--policy", "lookahead", "--gate", "additive"])).settings.gate == "additive"
    with pytest.raises(ConfigError, match="--eta.*not a setting of policy 'boe'"):
        _config(p.parse_args(["--policy", "boe", "--eta", "0.1"]))


@pytest.mark.slow
def test_the_http_api_with_no_settings_runs_the_librarys_defaults(sudoku):
    """Through a live server and gradio_client: every policy, only its name given."""
    from gradio_client import Client

    from app_helpers import live_server

    with live_server(concurrency=1) as url:
        for policy in POLICIES.names():
            c = Client(url, verbose=False)
            kw = dict(model="sudoku", steps=STEPS, policy=policy)
            c.predict(**kw, api_name="/step")
            tr = Trace.from_json(open(c.predict(fmt="json", api_name="/export")).read())
            assert tr.config["policy"] == policy
            assert tr.config["settings"] == library_settings(sudoku, policy), policy


def test_a_model_opens_with_its_own_preset():
    """kjv ships a BoE preset chosen on its val split (presets.json): the form starts with it, a
    model switch brings it, and the preset menu resolves its label."""
    from app import ui
    from app.setup_panel import on_model
    from boe_core.presets import default_preset_for, presets

    label = default_preset_for("kjv")
    assert label in presets("kjv") and label != "BoE default"
    d = H.default_inputs("kjv")
    assert d["policy"] == "boe" and d["settings"]["gate"] == presets("kjv")[label][1]["gate"]
    out = on_model("kjv", "In the beginning")
    menu = out[8]  # after the 3 input groups, example, story, story text, prompt and steps
    assert menu.value == label and label in [c[0] if isinstance(c, tuple) else c for c in menu.choices]
    fields = dict(zip([("", "policy")] + [(p, k.name) for p, k in scoped_knobs()], out[9:]))
    assert fields[("", "policy")] == "boe" and fields[("boe", "gate")] == "product"
    assert ui.on_preset(label, "kjv")[0] == "boe"
    assert H.default_inputs("sudoku")["settings"]["gate"] == "threshold"  # sudoku keeps the BoE default
