"""counterfactuals(): every commit's runner-up, continued by the run's own policy, batched per step."""
import threading

import numpy as np
import pytest

from boe_core import ConfigError, Counterfactuals, Trace, counterfactuals, generate, intervene
from boe_core.counterfactuals import commits_of, estimate_forwards, runner_up


@pytest.fixture(scope="module")
def run(tiny):
    return generate(tiny, "ab", gen_length=10, steps=5, policy="confidence")


@pytest.fixture(scope="module")
def cf(tiny, run):
    return counterfactuals(tiny, run, store=False)


def loglik(records, row=0):
    return sum(float(np.log(r.confidence[row][r.chosen[row]].astype(np.float64)).sum()) for r in records)


def test_one_row_per_commit(run, cf):
    assert cf.commits() == commits_of(run, 0) and cf.n == 10  # 10 decoded positions, monotone run
    df = cf.to_pandas()
    assert list(df.columns[:6]) == ["step", "position", "token", "alternative", "p", "q"]
    assert (df["alternative"] != df["token"]).all() and (df["q"] <= df["p"]).all()  # temperature 0: x is top-1
    assert cf.dependency.shape == (10, run.initial_canvas.shape[1])
    assert not cf.dependency[np.arange(10), cf.positions].any()


def test_branch_equals_manual_intervention(tiny, run, cf):
    for i in (0, 3, 7):
        s, p = cf.commits()[i]
        alt = int(cf.alternatives[i])
        manual = intervene(tiny, run, s + 1, {p: alt})
        assert np.array_equal(cf.finals[i], manual.final_canvas[0])
        assert cf.loglik_alt[i] == pytest.approx(loglik(manual.records[s + 1:]), abs=1e-5)
        assert np.array_equal(cf.dependency[i], (manual.final_canvas[0] != run.final_canvas[0]) & (np.arange(run.initial_canvas.shape[1]) != p))


def test_g_by_hand(run, cf):
    i = 4
    s, p = cf.commits()[i]
    tok, pj, alt, q = runner_up(run, s, p)
    assert (tok, alt) == (int(cf.tokens[i]), int(cf.alternatives[i]))
    L_s = loglik(run.records[s + 1:])
    assert cf.loglik_run[i] == pytest.approx(L_s, abs=1e-9)
    assert cf.g[i] == pytest.approx(np.log(q) + cf.loglik_alt[i] - np.log(pj) - L_s, abs=1e-9)


def test_replayed_remainder_matches_the_run(tiny, run, cf):
    again = counterfactuals(tiny, run, replay=True, store=False)
    assert again.replay_exact
    np.testing.assert_allclose(again.loglik_run, cf.loglik_run, atol=1e-5)
    np.testing.assert_allclose(again.g, cf.g, atol=1e-5)


def test_batch_size_does_not_change_results(tiny, run, cf):
    one = counterfactuals(tiny, run, batch=1, store=False)
    assert np.array_equal(one.finals, cf.finals)
    np.testing.assert_allclose(one.g, cf.g, atol=1e-5)


def test_cost_is_known_before(run, cf):
    est = estimate_forwards(run)
    assert est["branches"] == cf.n and est["batched_forwards"] == cf.forwards
    assert est["batched_forwards"] == sum(run.num_steps - s - 1 for s in sorted({s for s, _ in cf.commits()}))


def test_progress_and_cancel(tiny, run):
    seen = []
    counterfactuals(tiny, run, batch=1, progress=lambda d, t: seen.append((d, t)), store=False)
    assert seen[-1] == (10, 10) and len(seen) == 10
    ev = threading.Event()
    ev.set()
    out = counterfactuals(tiny, run, cancel=ev)
    assert not out.complete and np.isnan(out.loglik_alt).all() and "0" not in run.counterfactuals
    calls = []
    out = counterfactuals(tiny, run, batch=1, cancel=lambda: len(calls) >= 3,
                          progress=lambda d, t: calls.append(d), store=False)
    assert not out.complete and np.isfinite(out.loglik_alt).sum() == 3


def test_fixes_with_a_judge(tiny, run):
    target = run.final_canvas[0].copy()
    out = counterfactuals(tiny, run, judge=lambda f: bool((f == target).all()), store=False)
    assert out.fixes == [False] * out.n  # every branch holds its runner-up, never the run's answer
    assert counterfactuals(tiny, run, judge=None, store=False).fixes == [None] * out.n


def test_refusals(tiny, run):
    with pytest.raises(ConfigError) as e:
        counterfactuals(tiny, run, row=3)
    assert e.value.field == "row"
    with pytest.raises(ConfigError) as e:
        counterfactuals(tiny, run, batch=0)
    assert e.value.field == "batch"


def test_stored_in_the_trace_and_json_round_trip(tiny):
    tr = generate(tiny, "ab", gen_length=6, steps=3, policy="confidence")
    cf = counterfactuals(tiny, tr)
    assert "0" in tr.counterfactuals
    back = Trace.from_json(tr.to_json())
    assert back.to_dict()["version"] == 4
    again = Counterfactuals.from_trace(back, 0)
    np.testing.assert_allclose(again.g, cf.g)
    assert again.commits() == cf.commits() and np.array_equal(again.dependency, cf.dependency)
    assert again.to_pandas().equals(cf.to_pandas())


def test_version_3_traces_still_load(tiny):
    tr = generate(tiny, "ab", gen_length=6, steps=3, policy="confidence")
    d = tr.to_dict()
    d["version"] = 3
    d.pop("counterfactuals")
    old = Trace.from_dict(d)
    assert old.counterfactuals == {} and Counterfactuals.from_trace(old) is None
    old.check()


def test_batched_trace_rows(tiny):
    import torch

    canvas = torch.tensor([[3, 4] + [tiny.mask_id] * 6, [5, 6] + [tiny.mask_id] * 6])
    tr = generate(tiny, canvas=canvas, steps=3, policy="confidence")
    cf = counterfactuals(tiny, tr, row=1, store=False)
    assert cf.replay_exact  # a batched trace replays its remainder beside the branches
    s, p = cf.commits()[0]
    manual = intervene(tiny, tr, s + 1, {p: int(cf.alternatives[0])}, row=1)
    assert np.array_equal(cf.finals[0], manual.final_canvas[1])
