import numpy as np
import pytest
import torch

from boe_core import DecodeConfig, generate, init_state, iterate, step

ALL = ["random", "confidence", "margin", "entropy", "lookahead", "boe"]


@pytest.mark.parametrize("policy", ALL)
def test_prompt_fixed_and_fully_decoded(tiny, policy):
    tr = generate(tiny, "abcd", gen_length=12, steps=6, policy=policy, temperature=0.7, seed=3)
    final = tr.final_canvas[0]
    assert (final != tiny.mask_id).all()
    assert np.array_equal(final[:4], tr.initial_canvas[0, :4])
    for r in tr.records:  # fixed positions never change, committed ones are never remasked
        assert np.array_equal(r.canvas_after[tr.fixed], tr.initial_canvas[tr.fixed])
        assert not (r.canvas_after[~r.masked] != r.canvas_before[~r.masked]).any()
    assert tiny.decode(final[:4]) == "abcd"


def test_commit_counts_follow_schedule_with_blocks(tiny):
    tr = generate(tiny, "ab", gen_length=12, steps=6, block_length=4, policy="boe")
    counts = np.array(tr.schedule["counts"])
    assert counts.tolist() == [[2] * 6]  # 3 blocks x 2 steps, 4 masks each -> 2 per step
    for r in tr.records:
        assert r.chosen.sum(1).tolist() == counts[:, r.step].tolist()
        s, e = tr.schedule["blocks"][r.block]
        pos = np.flatnonzero(r.chosen[0])
        assert ((pos >= s) & (pos < e)).all(), "commits stay inside the current block"
    assert [r.block for r in tr.records] == [0, 0, 1, 1, 2, 2]


def test_uneven_schedule_spreads_remainder(tiny):
    tr = generate(tiny, "a", gen_length=7, steps=3)
    assert tr.schedule["counts"] == [[3, 2, 2]]


def test_same_seed_same_trace(tiny):
    kw = dict(gen_length=10, steps=5, policy="boe", temperature=1.0, seed=11)
    a, b = generate(tiny, "abc", **kw), generate(tiny, "abc", **kw)
    for ra, rb in zip(a.records, b.records):
        assert np.array_equal(ra.canvas_after, rb.canvas_after)
        np.testing.assert_array_equal(ra.tis, rb.tis)
    c = generate(tiny, "abc", **{**kw, "seed": 12})
    assert any(not np.array_equal(x.proposals, y.proposals) for x, y in zip(a.records, c.records))


def test_batch_with_ragged_prompts(tiny):
    tr = generate(tiny, ["abcdef", "a"], gen_length=6, steps=3, policy="boe")
    assert tr.attention_mask is not None and tr.attention_mask.shape == (2, 12)
    final = tr.final_canvas
    assert tiny.decode(final[1][tr.attention_mask[1]][:1]) == "a"
    assert (final[:, -6:] != tiny.mask_id).all()
    assert not tr.attention_mask[1, :5].any()  # left padding never decoded
    assert (final[1, :5] == tiny.pad_id).all()


def test_generator_and_step_share_the_loop(tiny):
    cfg = DecodeConfig(policy="confidence", steps=4)
    ids = torch.tensor([[3, 4] + [tiny.mask_id] * 8])
    state = init_state(tiny, ids, cfg)
    recs = list(iterate(tiny, state, cfg))
    state2 = init_state(tiny, ids, cfg)
    for r in recs:
        state2, r2 = step(tiny, state2, cfg)
        assert np.array_equal(r.canvas_after, r2.canvas_after)
    assert state2.done
    with pytest.raises(ValueError, match="finished"):
        step(tiny, state2, cfg)


def test_scattered_canvas_infilling(tiny):
    m = tiny.mask_id
    ids = torch.tensor([[3, m, 4, m, m, 5, m]])
    tr = generate(tiny, canvas=ids, steps=2, policy="boe")
    assert tr.schedule["blocks"] == [[1, 7]]
    assert tr.final_canvas[0, [0, 2, 5]].tolist() == [3, 4, 5]
    assert (tr.final_canvas != m).all()


def test_costs_recorded(tiny):
    c = generate(tiny, "ab", gen_length=16, steps=8, policy="confidence").records[0]
    bc = generate(tiny, "ab", gen_length=16, steps=8, policy="boe", linearize_at="current").records[0]
    bs = generate(tiny, "ab", gen_length=16, steps=8, policy="boe", linearize_at="surrogate").records[0]
    la = generate(tiny, "ab", gen_length=16, steps=8, policy="lookahead", r=8).records[0]
    assert (c.n_forward, c.n_backward) == (1, 0)
    assert (bc.n_forward, bc.n_backward) == (1, 1)
    assert (bs.n_forward, bs.n_backward) == (2, 1)
    assert (la.n_forward, la.n_backward) == (9, 0)
    assert not bc.fallback[0] and np.isfinite(bc.tis[0][bc.candidates[0]]).all()
    assert np.isfinite(bc.grad_norm).all()
