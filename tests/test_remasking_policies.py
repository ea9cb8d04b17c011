"""Each remasking rule pinned on a hand-made step: which positions it commits and takes back."""
import math

import numpy as np
import pytest
import torch

from boe_core import DecodeConfig, generate
from boe_core.numerics import token_stats
from boe_core.policies import get_policy
from boe_core.policies.base import StepContext
from boe_core.policies.boe_revise import BoEReviseSettings, revise_pick
from boe_core.policies.rcr import rcr_step
from boe_core.policies.remdm import ReMDMSettings, remdm_remask, sigma
from boe_core.sampler import build_context, state_at

MASK = 0
NAN = float("nan")


def hand_context(settings=None, t=5, T=10, b=1):
    """One row of 8: positions 0-1 the prompt, 2-4 committed (with the confidences they were
    committed at: 0.9, 0.3, 0.6), 5-7 masked with proposal confidences 0.5, 0.95, 0.2."""
    ids = torch.tensor([[7, 8, 3, 4, 5, MASK, MASK, MASK]])
    masked = ids == MASK
    fixed = torch.tensor([[True, True] + [False] * 6])
    conf = torch.tensor([0, 0, 0, 0, 0, 0.5, 0.95, 0.2])
    logits = torch.full((1, 8, 8), -30.0)  # proposal id 1 with the given probability, the rest spread
    for i, c in enumerate(conf.tolist()):
        if c > 0:
            logits[0, i, 1] = math.log(c)
            logits[0, i, 2:] = math.log((1 - c) / 6)
    stats = token_stats(logits[masked], [], 0.0, None, 2, masked)
    cc = torch.tensor([[NAN, NAN, 0.9, 0.3, 0.6, NAN, NAN, NAN]])
    return StepContext(None, ids, None, masked, masked.clone(), torch.tensor([b]), t, T, stats, settings,
                       torch.Generator().manual_seed(0), fixed=fixed, commit_confidence=cc,
                       remasks=torch.zeros_like(ids))


def where(mask):
    return np.flatnonzero(mask[0].numpy()).tolist()


def test_hand_context_is_what_it_says():
    ctx = hand_context()
    np.testing.assert_allclose(ctx.stats.confidence[0, 5:].numpy(), [0.5, 0.95, 0.2], rtol=1e-5)
    assert where(ctx.committed) == [2, 3, 4]


def test_rcr_keeps_the_top_decoded_plus_b_by_running_confidence():
    # ranking 6 (0.95), 2 (0.9), 4 (0.6), 5 (0.5), 3 (0.3), 7 (0.2): the top 3 + 1 stand
    commit, remask = rcr_step(hand_context(b=1))
    assert where(commit) == [5, 6] and where(remask) == [3]
    commit, remask = rcr_step(hand_context(b=2))  # top 5: 3 now stands
    assert where(commit) == [5, 6] and where(remask) == []


def test_remdm_sigma_follows_the_cap_schedule():
    s = ReMDMSettings(eta=1.0, start=0.0, stop=1.0)
    assert sigma(s, 5, 10) == pytest.approx(0.8)  # alpha_t = 0.5, alpha_s = 0.6: (1 - 0.6) / 0.5
    assert sigma(ReMDMSettings(eta=0.05), 5, 10) == pytest.approx(0.05)
    assert sigma(s, 1, 10) == 0.0  # never at the last step
    assert sigma(ReMDMSettings(start=0.25, stop=0.9), 9, 10) == 0.0  # outside the window


def test_remdm_confidence_takes_back_the_lowest_commit_confidence():
    s = ReMDMSettings(variant="confidence", eta=0.34, start=0.0, stop=1.0)
    remask, sig = remdm_remask(hand_context(s), s)  # round(0.34 * 3) = 1
    assert sig == pytest.approx(0.34) and where(remask) == [3]
    s = ReMDMSettings(variant="confidence", eta=0.5, start=0.0, stop=1.0)
    assert where(remdm_remask(hand_context(s), s)[0]) == [3, 4]  # round(1.5) = 2: 0.3 and 0.6


def test_remdm_cap_draws_from_the_decoded_tokens_only():
    s = ReMDMSettings(eta=1.0, start=0.0, stop=1.0)  # sigma = 0.8: round(2.4) = 2 of the 3 decoded
    seen = set()
    for seed in range(20):
        ctx = hand_context(s)
        ctx.generator.manual_seed(seed)
        remask, _ = remdm_remask(ctx, s)
        pos = where(remask)
        assert len(pos) == 2 and set(pos) <= {2, 3, 4}
        seen.update(pos)
    assert seen == {2, 3, 4}  # a uniform draw: every decoded token can go back
    ctx = hand_context(s)
    ctx.final = True
    assert not remdm_remask(ctx, s)[0].any()


def test_boe_revise_takes_back_the_largest_remask_tis_over_theta():
    rt = torch.tensor([[NAN, NAN, 0.2, 1.3, 0.7, NAN, NAN, NAN]])
    pool = torch.tensor([[False, False, True, True, True, False, False, False]])
    none = torch.zeros(1, 8, dtype=torch.long)
    assert where(revise_pick(rt, pool, none, theta=0.5, budget=2)) == [3]
    assert where(revise_pick(rt, pool, none, theta=1.5, budget=2)) == []  # below theta
    once = none.clone()
    once[0, 3] = 1  # 3 went back before: the next largest, 4
    assert where(revise_pick(rt, pool, once, theta=0.5, budget=2)) == [4]
    assert where(revise_pick(rt, pool, once, theta=0.5, budget=1)) == []  # budget spent


@pytest.mark.parametrize("kw", [{"eta": 0.3, "start": 0.0}, {"variant": "confidence", "eta": 0.3, "start": 0.0}])
def test_remdm_decodes_and_keeps_the_invariants(tiny, kw):
    tr = generate(tiny, ["ab", "abcd"], gen_length=10, steps=8, policy="remdm", **kw)
    tr.check()
    assert tr.num_steps <= 8
    assert any(r.remasked.any() for r in tr.records)
    assert all(not (r.remasked & tr.fixed).any() for r in tr.records)


def _remasks_ignored(trace, r) -> bool:
    """Whether the loop drops this step's remasks: the budget's last step, or its block's last."""
    sb = trace.schedule["step_block"]
    return r.step == len(sb) - 1 or sum(1 for j in sb[r.step:] if j == r.block) <= 1


def test_rcr_in_the_loop_takes_back_what_rcr_step_says(tiny):
    """Sampled proposals (temperature 1) are often less sure than later ones, so RCR has commits
    to take back; every step's remasks are rcr_step's on the state the trace recorded."""
    tr = generate(tiny, ["ab", "abcd"], gen_length=10, steps=8, policy="rcr", temperature=1.0, seed=0)
    tr.check()
    assert sum(int(r.remasked.sum()) for r in tr.records) >= 1
    cfg = DecodeConfig.from_dict(tr.config)
    for r in tr.records:
        assert not (r.remasked & tr.fixed).any()
        ctx = build_context(tiny, state_at(tiny, tr, r.step), cfg)
        commit, remask = rcr_step(ctx)
        if _remasks_ignored(tr, r):
            remask = torch.zeros_like(remask)
        assert np.array_equal(r.remasked, remask.numpy()), f"step {r.step}"
        assert (r.chosen >= commit.numpy()).all()  # its commits went in (the final step adds the rest)


def test_boe_revise_in_the_loop_takes_back_the_largest_remask_tis(tiny):
    """Per step and row at most one token goes back: the revisable one with the largest remask TIS
    (never one remasked before, within the budget, when it clears θ)."""
    theta, budget = 0.0, BoEReviseSettings().budget
    tr = generate(tiny, ["ab", "abcd"], gen_length=10, steps=8, policy="boe-revise", theta=theta, r=4)
    tr.check()
    assert sum(int(r.remasked.sum()) for r in tr.records) >= 1
    done = np.zeros(tr.initial_canvas.shape, np.int64)  # remasks per position so far
    for r in tr.records:
        assert (r.remasked.sum(1) <= 1).all()
        rt = r.signals.get("remask_tis")
        for row in range(r.remasked.shape[0]):
            want = []
            pool = ~r.masked[row] & ~tr.fixed[row] & tr.attention_mask[row] & (done[row] == 0)
            if rt is not None and not _remasks_ignored(tr, r) and done[row].sum() < budget:
                v = np.where(pool & np.isfinite(rt[row]), rt[row], -np.inf)
                if v.max() >= theta:
                    want = [int(np.argmax(v))]
            assert np.flatnonzero(r.remasked[row]).tolist() == want, f"step {r.step} row {row}"
        done += r.remasked
    assert done.max() <= 1 and (done.sum(1) <= budget).all()  # no position twice; the budget holds
    high = generate(tiny, ["ab", "abcd"], gen_length=10, steps=8, policy="boe-revise", theta=1.0, r=4)
    assert not any(r.remasked.any() for r in high.records)  # remask TIS here is ~1e-4 nats: below θ = 1


def test_remdm_cap_in_a_batch_matches_each_row_alone(tiny):
    """The cap draw is per row (its own stream): with one block a row decodes as it would alone."""
    assert get_policy("remdm").settings_cls().validate().variant == "cap"  # the default schedule
    kw = dict(gen_length=12, steps=8, policy="remdm", eta=0.5, start=0.0)
    both = generate(tiny, ["abcdef", "abcdeg"], **kw)
    both.check()
    alone = generate(tiny, ["abcdeg"], **kw)
    assert np.array_equal(both.final_canvas[1], alone.final_canvas[0])
    assert any(r.remasked.any() for r in both.records)


def test_remasks_stay_in_the_current_block(tiny):
    both = generate(tiny, ["abcdef", "a"], gen_length=12, steps=8, block_length=4, policy="remdm", eta=0.5,
                    start=0.0)
    both.check()
    assert any(r.remasked.any() for r in both.records)
    for r in both.records:
        s, e = both.schedule["blocks"][r.block]
        assert not r.remasked[:, :s].any() and not r.remasked[:, e:].any()


def test_revisable_is_decided_per_row():
    """Inside a block only the block's tokens may be revised; a row with nothing masked left may
    revise all its committed tokens, whatever the other rows still have masked."""
    from boe_core.policies.revision import revisable

    ids = torch.tensor([[7, 3, 4, 5, 6, 3], [7, 3, 4, 5, MASK, 3]])
    masked = ids == MASK
    fixed = torch.zeros_like(masked)
    fixed[:, 0] = True  # the prompt
    ctx = StepContext(None, ids, None, masked, masked.clone(), torch.tensor([1, 1]), 5, 10, None, None,
                      torch.Generator().manual_seed(0), fixed=fixed, block_span=(3, 6))
    got = revisable(ctx)
    assert got[0].tolist() == [False, True, True, True, True, True]  # finished: every committed token
    assert got[1].tolist() == [False, False, False, True, False, True]  # the block's committed tokens
    ctx.block_span = None
    assert revisable(ctx)[1].tolist() == [False, True, True, True, False, True]
