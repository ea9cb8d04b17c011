"""The explorer's new views at the handler level (no server): signals from the declarations,
confidence's pick and the step notes, presets, the default branch step, the lock-in map (cache,
cancel, open in Compare), whole-run fidelity and the stories."""
import html
import re
import threading

import numpy as np
import pytest
import torch

from app import canvas, compare, fidelity_run, jobs, lockin, models, status, stories
from app import handlers as H
from app.session import PRESETS, Session, UserError, build_config, preset_overrides
from app_helpers import default_model_or_reason
from boe_core import BoESettings, DecodeConfig, TinyMDMAdapter, generate


@pytest.fixture()
def toy():
    """A small random model. (A policy's own signal reaching the overlays and heatmaps is tested
    in tests/test_signals.py.)"""
    return TinyMDMAdapter.random(seed=3, d_model=16, n_layers=1)


def test_status_shows_confidence_pick_and_notes(toy):
    tr = generate(toy, "ab", gen_length=8, steps=4, policy="random", seed=1, meta={"task": "text"})
    tr.records[0].notes.append("r=2 < b=4: r raised to 4")
    s = status.step_summary(tr, 0)
    assert s["notes"] == ["r=2 < b=4: r raised to 4"]
    pick = set(np.flatnonzero(tr.records[0].signals["confidence_pick"][0]))
    assert {c["position"] for c in s["confidence_pick"]} == pick
    html = status.status_html(tr, 0)
    assert "r raised to 4" in html and "confidence would commit" in html
    k = next(r.step for r in tr.records if not np.array_equal(r.chosen[0], r.signals["confidence_pick"][0]))
    grid = canvas.canvas_html(tr, k)
    assert "cpick-only" in grid and "departs from confidence" in status.status_html(tr, k)
    assert compare.default_branch_step(tr) == k
    conf = generate(toy, "ab", gen_length=8, steps=4, policy="confidence", meta={"task": "text"})
    assert compare.default_branch_step(conf) is None


def test_presets_follow_the_boe_defaults_and_name_their_setting():
    d = BoESettings()
    pol, knobs = preset_overrides("BoE default")
    assert pol == "boe" and all(getattr(d, k) == v for k, v in knobs.items())
    expect = {"BoE · linearise at the midpoint (α=0.5)": ("linearize_at", "midpoint"),
              "BoE · quadrature linearisation (k=3)": ("quad_points", 3),
              "BoE · surrogate linearisation": ("linearize_at", "surrogate"),
              "BoE · linearise at the current point": ("linearize_at", "current"),
              "BoE · threshold gate (τ_c=0.9)": ("gate", "threshold"),
              "BoE · additive gate (β=0.5)": ("beta", 0.5),
              "lookahead gated (threshold)": ("gate", "threshold")}
    for name, (k, v) in expect.items():
        pol, knobs = preset_overrides(name)
        assert knobs[k] == v, name
        cfg = build_config(pol, 4, 0, 0.0, 0, settings={**knobs, "r": 0})
        assert getattr(cfg.settings, k) == v and cfg.policy == pol
    assert preset_overrides("lookahead gated (threshold)")[0] == "lookahead"
    for name in PRESETS:  # every preset is a valid config
        pol, knobs = preset_overrides(name)
        DecodeConfig(policy=pol, steps=4, settings={k: v for k, v in knobs.items()}).validate()


@pytest.fixture(scope="module")
def finished():
    """A finished 6-step BoE run of the shipped default model, in a session."""
    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    torch.set_num_threads(1)
    models.configure()
    v = H.default_inputs(name)
    v.pop("task")
    v.update(model=name, steps=6, settings={**v["settings"], "r": 0})
    if name != "sudoku":
        v.update(gen_length=12, steps=6)
    sess = Session()
    list(H.run(sess, **v))
    return sess


def test_lockin_map_is_cached_and_opens_in_compare(finished):
    sess = finished
    outs = list(lockin.lockin(sess, "confidence"))
    info = outs[-1][3]
    assert info["status"] == "done" and info["complete"] and len(info["points"]) == sess.trace.num_steps
    assert 0 <= info["rollouts"] <= sess.trace.num_steps
    assert [p["step"] for p in info["points"]] == list(range(sess.trace.num_steps))
    assert len(re.findall(r'class="li-col[" ]', outs[-1][1])) == sess.trace.num_steps
    again = list(lockin.lockin(Session(uid="other", trace=sess.trace, task=sess.task), "confidence"))
    assert again[-1][3]["cached"] and again[-1][3]["points"] == info["points"]
    cmp = list(lockin.lockin_open(sess, 2))[-1][-1]
    assert cmp["branched_at"] == 2 and cmp["policy_b"] == "confidence"
    with pytest.raises(Exception, match="at_step"):
        list(lockin.lockin_open(sess, 999))
    with pytest.raises(Exception, match="policy"):
        list(lockin.lockin(sess, "no-such-policy"))


def test_a_cancelled_lockin_map_is_partial_and_not_cached(finished, monkeypatch):
    sess = Session(uid="cancel-me", trace=finished.trace, task=finished.task)
    real = lockin.lockin_map
    started = threading.Event()

    def slow(adapter, trace, policy="confidence", callback=None, cancel=None):
        started.set()
        assert cancel.wait(60), "the cancel never arrived"
        return real(adapter, trace, policy=policy, callback=callback, cancel=cancel)

    monkeypatch.setattr(lockin, "lockin_map", slow)
    monkeypatch.setattr(lockin, "CACHE", lockin.LockInCache())
    gen = lockin.lockin(sess, "confidence")
    first = next(gen)[3]
    assert first["status"] == "running" and first["job_id"]
    assert started.wait(30)
    assert lockin.lockin_cancel(sess, first["job_id"]) == {"cancelled": [first["job_id"]]}
    last = list(gen)[-1][3]
    assert last["status"] == "cancelled" and last["complete"] is False
    assert lockin.CACHE.get(lockin.trace_key(sess.trace, "confidence")) is None
    with pytest.raises(UserError, match="job_id"):
        lockin.lockin_cancel(sess, "not-a-job")


def test_whole_run_fidelity_draws_what_the_core_measures(finished):
    from boe_core.fidelity import measure_trace

    data = list(fidelity_run.fidelity_run(finished))[-1][-1]
    assert data["status"] == "done" and data["steps"]
    want = fidelity_run.run_json(measure_trace(models.get_adapter(finished.trace.model), finished.trace, rows=[0]))
    for key in ("steps", "n_candidates", "spearman", "sign", "top1"):
        assert data[key] == want[key], key  # the same computation on the same run: equal to the bit
    fig = fidelity_run.run_figure(data)
    assert len(fig.data) == 3 and list(fig.data[0].x) == data["steps"]


def test_jobs_cancel_by_session_and_the_unfinished_run_is_refused(finished):
    gate = threading.Event()
    job = jobs.start("demo", "s1", lambda j: gate.wait(30))
    assert [j.id for j in jobs.cancel("demo", "s1")] == [job.id]
    gate.set()
    job.finished.wait(10)
    assert job.status == "cancelled"
    half = Session(uid="half", trace=finished.trace, task=finished.task)
    half.trace = type(finished.trace)(**{**finished.trace.__dict__, "records": finished.trace.records[:2]})
    with pytest.raises(UserError, match="run it to the end"):
        list(lockin.lockin(half, "confidence"))


def test_stories_file_loads_and_explains():
    told = stories.load_stories("sudoku")
    if not told:
        pytest.skip("no assets/examples/stories_sudoku.json (run tools/make_stories.py --model sudoku)")
    kinds = {s["kind"] for s in told}
    assert "confidence-locks-in" in kinds
    for s in told:
        assert s["explanation"] and "puzzle" in s["values"] and s["run_preset"] in PRESETS
        assert s["other_preset"] in PRESETS
        assert s["label"] in stories.story_html(s)
    from app.ui import on_story

    out = on_story(told[0]["label"], "sudoku")
    assert html.escape(told[0]["explanation"]) in out[-1]
    with pytest.raises(UserError, match="story"):
        stories.find("sudoku", "no such story")


@pytest.mark.parametrize("model,tags", [("reasoning", ("cd:", "s4:", "ar:")), ("sudoku6", ("s6:",))])
def test_reasoning_stories_load_and_open_in_their_view(model, tags):
    told = stories.load_stories(model)
    if not told:
        pytest.skip(f"no stories in assets/examples/stories_{model}.json")
    from app.ui import on_story

    for s in told:
        assert s["run_preset"] in PRESETS and s["other_preset"] in PRESETS
        assert s["values"]["prompt"][:3] in tags
        out = on_story(s["label"], model)
        assert html.escape(s["explanation"]) in out[-1]
