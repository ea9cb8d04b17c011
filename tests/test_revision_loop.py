"""The loop with variable commits and remasks: the invariants of revision, on toy policies."""
from pathlib import Path

import numpy as np
import pytest
import torch

from boe_core import DecodeConfig, Trace, generate, init_state, iterate
from boe_core.branch import branch, diff
from boe_core.sampler import state_at
from boe_core.policies import POLICIES
from boe_core.policies.base import Policy, PolicyResult, masked_scores, no_fallback

FIXTURES = Path(__file__).parent / "fixtures"


class CommitLeftmost(Policy):
    """Commits exactly the `k` leftmost eligible positions (k may be 0: then progress is forced)."""
    name = "toy-commit-k"
    k = 3

    def score(self, ctx):
        pos = torch.arange(ctx.ids.shape[1]).expand(ctx.ids.shape)
        rank = torch.where(ctx.eligible, pos, torch.full_like(pos, 10**6)).argsort(1).argsort(1)
        commit = (rank < self.k) & ctx.eligible
        return PolicyResult(masked_scores(-pos.double(), ctx.eligible), no_fallback(ctx), commit=commit)


class RemaskRightmost(Policy):
    """Top-b by confidence; takes back the rightmost committed token at steps 1 and 2, and on a full
    canvas while more than half of the budget is left."""
    name = "toy-remask"

    def revises(self, settings):
        return True

    def score(self, ctx):
        committed = ctx.committed
        pos = torch.arange(ctx.ids.shape[1]).expand(ctx.ids.shape)
        last = torch.where(committed, pos, torch.full_like(pos, -1)).amax(1)
        step = ctx.T - ctx.t
        full = not bool(ctx.masked.any())
        if not (step in (1, 2) or (full and ctx.t > ctx.T / 2)):
            last = torch.full_like(last, -1)
        remask = committed & (pos == last[:, None])
        return PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), no_fallback(ctx), remask=remask)


class Bad(Policy):
    name = "toy-bad"
    what = "commit-prompt"

    def score(self, ctx):
        res = PolicyResult(masked_scores(ctx.stats.confidence, ctx.eligible), no_fallback(ctx))
        if self.what == "commit-prompt":
            res.commit = ~ctx.masked
        else:
            res.remask = ~ctx.masked  # the prompt included
        return res


@pytest.fixture
def toys():
    with POLICIES.registered(CommitLeftmost()) as a, POLICIES.registered(RemaskRightmost()) as b, \
            POLICIES.registered(Bad()) as c:
        yield a, b, c


def test_variable_commits_count_and_end_early(tiny, toys):
    tr = generate(tiny, "ab", gen_length=7, steps=6, policy="toy-commit-k")
    assert [int(r.n_commit[0]) for r in tr.records] == [3, 3, 1]  # the loop ends once nothing is masked
    for r in tr.records:
        assert int(r.chosen[0].sum()) == int(r.n_commit[0])
    assert (tr.final_canvas != tiny.mask_id).all()
    tr.check()


def test_a_row_that_commits_nothing_commits_its_top1_by_confidence(tiny, toys):
    toys[0].k = 0
    try:
        tr = generate(tiny, "ab", gen_length=4, steps=4, policy="toy-commit-k")
    finally:
        toys[0].k = 3
    r = tr.records[0]
    assert r.n_commit.tolist() == [1]
    assert int(np.flatnonzero(r.chosen[0])[0]) == int(np.nanargmax(np.where(r.eligible[0], r.confidence[0], np.nan)))
    assert any("top-1 by confidence" in n for n in r.notes)


def test_budget_spent_commits_the_rest_in_one_final_record(tiny, toys):
    tr = generate(tiny, "ab", gen_length=9, steps=2, policy="toy-commit-k")
    assert tr.num_steps == 2 and tr.records[-1].n_commit.tolist() == [6]
    assert any("budget" in n for n in tr.records[-1].notes)
    assert (tr.final_canvas != tiny.mask_id).all()


def test_remasks_keep_the_invariants(tiny, toys):
    tr = generate(tiny, ["abc", "a"], gen_length=6, steps=20, policy="toy-remask")
    tr.check()  # fixed cells untouched, canvases chained by commits and remasks, nothing masked at the end
    assert any(r.remasked.any() for r in tr.records)
    for r in tr.records:
        assert not (r.remasked & tr.fixed).any()  # the prompt and the padding are never remasked
        assert (r.canvas_after[r.remasked] == tiny.mask_id).all()
    # every position ends committed; its full history can be read from the trace
    final = tr.final_canvas
    live = tr.attention_mask & ~tr.fixed
    assert (final[live] != tiny.mask_id).all()
    pos = max(tr.remask_steps(0))
    events = tr.history(pos, row=0)
    kinds = [e[1] for e in events]
    assert kinds[0] == "commit" and "remask" in kinds and kinds[-1] == "commit"
    assert all(a != b for a, b in zip(kinds, kinds[1:]))  # commit and remask alternate
    assert events[-1][2] == final[0, pos]
    # the full canvas was revised after the last mask was filled, and then the loop stopped
    assert any(not r.masked.any() and r.remasked.any() for r in tr.records)
    assert not tr.records[-1].masked.any() and not tr.records[-1].remasked.any()
    assert tr.num_steps < 20


def test_final_step_ignores_remasks(tiny, toys):
    tr = generate(tiny, "ab", gen_length=6, steps=3, policy="toy-remask")
    last = tr.records[-1]
    assert tr.num_steps == 3 and not last.remasked.any()
    assert any("remasks ignored" in n for n in last.notes)
    assert (tr.final_canvas != tiny.mask_id).all()


@pytest.mark.parametrize("what", ["commit-prompt", "remask-prompt"])
def test_a_policy_cannot_commit_or_remask_the_prompt(tiny, toys, what):
    toys[2].what = what
    with pytest.raises(ValueError, match="toy-bad"):
        generate(tiny, "ab", gen_length=4, steps=4, policy="toy-bad")


class CountingAdapter:
    """Counts the rows the model runs (forward-equivalents = rows / batch rows)."""

    def __init__(self, inner):
        self.inner, self.rows = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def hidden(self, embeds, *a, **k):
        self.rows += embeds.shape[0]
        return self.inner.hidden(embeds, *a, **k)


@pytest.mark.parametrize("policy,kw", [("confidence", {}), ("toy-remask", {}), ("toy-commit-k", {}),
                                       ("boe", {"linearize_at": "midpoint"}), ("lookahead", {"r": 3})])
def test_forwards_counted_are_forwards_run(tiny, toys, policy, kw):
    counter = CountingAdapter(tiny)
    tr = generate(counter, ["ab", "abcd"], gen_length=6, steps=5, policy=policy, **kw)
    assert tr.cost()["forwards"] == counter.rows / 2


def test_branch_and_diff_see_remasks(tiny, toys):
    tr = generate(tiny, "ab", gen_length=6, steps=10, policy="toy-remask")
    k = next(r.step for r in tr.records if r.remasked.any())
    same = branch(tiny, tr, k, policy="toy-remask")
    assert [r.remasked.tolist() for r in same.records] == [r.remasked.tolist() for r in tr.records]
    other = branch(tiny, tr, k, policy="confidence")
    d = diff(tr, other)
    assert d.first_divergent_step == k and d.remasked_a and not d.remasked_b
    assert "remasks" in d.describe()
    other.check()


def test_state_stops_when_nothing_is_masked(tiny):
    cfg = DecodeConfig(policy="confidence", steps=8)
    state = init_state(tiny, torch.tensor([[3] + [tiny.mask_id] * 4]), cfg)
    assert len(list(iterate(tiny, state, cfg))) == 4  # 8 steps of budget, 4 masks: 4 steps


def test_version_2_traces_load_without_remasks():
    tr = Trace.from_json(FIXTURES / "trace_v2_confidence.json")
    assert all(r.remasked.shape == r.chosen.shape and not r.remasked.any() for r in tr.records)
    tr.check()
    df = tr.to_pandas()
    assert "remasked" in df and not df["remasked"].any()
    assert Trace.from_json(tr.to_json()).to_dict()["version"] >= 3  # written at the current version


def test_state_at_rebuilds_the_runs_memory(tiny):
    tr = generate(tiny, "ab", gen_length=12, steps=8, policy="remdm", variant="confidence", eta=0.3, start=0.0)
    assert any(r.remasked.any() for r in tr.records)
    from boe_core.sampler import init_state, step as one_step

    cfg = DecodeConfig.from_dict(tr.config)
    state = init_state(tiny, torch.as_tensor(tr.initial_canvas), cfg)
    for k in range(tr.num_steps - 1):
        state, _ = one_step(tiny, state, cfg)
        again = state_at(tiny, tr, k + 1)
        np.testing.assert_array_equal(again.commit_confidence.numpy(), state.commit_confidence.numpy())
        np.testing.assert_array_equal(again.remasks.numpy(), state.remasks.numpy())
    same = branch(tiny, tr, 3, policy="remdm", variant="confidence", eta=0.3, start=0.0)
    assert np.array_equal(same.final_canvas, tr.final_canvas)


def test_lockin_map_of_a_revising_run(tiny):
    from boe_core.lockin import lockin_map

    tr = generate(tiny, "ab", gen_length=12, steps=8, policy="remdm", variant="confidence", eta=0.3, start=0.0)
    judge = lambda t: {"solved": None, "first_wrong_step": None, "text": ""}  # noqa: E731
    m = lockin_map(tiny, tr, judge=judge)
    assert [p.step for p in m.points] == list(range(tr.num_steps))
    for p in m.points:  # a step that took a commit back is never inferred from confidence's pick
        if tr.records[p.step].remasked[0].any():
            assert p.rollout
