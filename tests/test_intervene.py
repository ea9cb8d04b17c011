"""intervene(): edit a run's canvas before a step and let the run's policy go on."""
import numpy as np
import pytest
import torch

from boe_core import ConfigError, branch, generate, intervene
from boe_core.sampler import edit_state, init_state, state_at
from boe_core.config import DecodeConfig


@pytest.fixture(scope="module")
def run(tiny):
    return generate(tiny, "ab", gen_length=10, steps=5, policy="confidence")


def first_commit(trace, step):
    return int(np.flatnonzero(trace.records[step].chosen[0])[0])


def other_token(trace, step, pos):
    r = trace.records[step]
    tok = int(r.canvas_after[0, pos])
    return next(int(a) for a in r.topk_ids[0, pos] if a >= 0 and a != tok)


def same_records(a, b):
    return all(np.array_equal(x.canvas_after, y.canvas_after) and np.array_equal(x.chosen, y.chosen)
               for x, y in zip(a, b)) and len(a) == len(b)


def test_no_edits_equals_branch(tiny, run):
    for k in (0, 2, 4):
        assert same_records(intervene(tiny, run, k, {}).records, branch(tiny, run, k, policy="confidence").records)


def test_prefix_kept_edit_held_and_recorded(tiny, run):
    pos = first_commit(run, 1)
    tok = other_token(run, 1, pos)
    assert tok != int(run.final_canvas[0, pos])
    out = intervene(tiny, run, 2, {pos: tok})
    assert same_records(out.records[:2], run.records[:2])
    assert out.records[2].canvas_before[0, pos] == tok  # the continuation starts from the edit
    assert out.final_canvas[0, pos] == tok  # nobody committed over it (confidence never remasks)
    assert out.meta["interventions"] == [{"step": 2, "row": 0, "positions": [pos], "old": [int(run.final_canvas[0, pos])],
                                          "new": [tok], "policy": "confidence"}]
    out.check()  # the edited cell is the only change the loop did not make


def test_take_back_is_decoded_again(tiny, run):
    pos = first_commit(run, 0)
    out = intervene(tiny, run, 1, {pos: "mask"})
    assert out.records[1].canvas_before[0, pos] == tiny.mask_id
    assert any(r.chosen[0, pos] for r in out.records[1:])
    assert (out.final_canvas != tiny.mask_id).all()
    out.check()


def test_final_canvas_edit(tiny, run):
    pos = first_commit(run, 3)
    tok = other_token(run, 3, pos)
    out = intervene(tiny, run, run.num_steps, {pos: tok})
    assert out.final_canvas[0, pos] == tok and out.records[-1].n_forward == 0
    out.check()
    with pytest.raises(ConfigError, match="at_step"):
        intervene(tiny, run, run.num_steps, {pos: "mask"})  # no step left to decode it


def test_other_policy_and_overrides(tiny, run):
    out = intervene(tiny, run, 2, {first_commit(run, 0): "mask"}, policy="margin")
    assert out.config["policy"] == "margin" and all(r.policy == "margin" for r in out.records[2:])


@pytest.mark.parametrize("kw,field", [
    (dict(at_step=2, edits={0: 5}), "position"),  # the prompt ([CLS] ... ) is fixed
    (dict(at_step=2, edits={99: 5}), "position"),
    (dict(at_step=-1, edits={}), "at_step"),
    (dict(at_step=6, edits={}), "at_step"),
    (dict(at_step=2, edits={}, row=1), "row"),
    (dict(at_step=2, edits="x"), "edits"),
])
def test_refusals_name_the_field(tiny, run, kw, field):
    with pytest.raises(ConfigError) as e:
        intervene(tiny, run, **kw)
    assert e.value.field == field


def test_refuses_bad_tokens_and_uncommitted_take_back(tiny, run):
    pos = first_commit(run, 3)
    with pytest.raises(ConfigError, match="not committed before step 1"):
        intervene(tiny, run, 1, {pos: "mask"})
    with pytest.raises(ConfigError, match=r"edits\[") as e:
        intervene(tiny, run, 4, {pos: 10_000})
    assert e.value.value == 10_000
    with pytest.raises(ConfigError, match="special"):
        intervene(tiny, run, 4, {pos: tiny.mask_id})


def test_grid_task(tiny_sudoku_dir):
    from boe_core.models import load_model
    from boe_core.tasks.sudoku import puzzle_to_canvas

    m = load_model(str(tiny_sudoku_dir))
    puzzle = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
    ids, _ = puzzle_to_canvas(puzzle, m.tokenizer)
    tr = generate(m, canvas=ids[None], steps=4, policy="confidence")
    clue = int(np.flatnonzero(tr.fixed[0])[0])
    with pytest.raises(ConfigError, match="fixed"):
        intervene(m, tr, 2, {clue: "mask"})
    pos = first_commit(tr, 0)
    out = intervene(m, tr, 1, {pos: "mask"})
    assert out.num_steps == tr.num_steps and (out.final_canvas != m.mask_id).all()


def test_edit_state_keeps_memory_in_step(tiny, run):
    st = state_at(tiny, run, 3)
    pos = first_commit(run, 0)
    where = torch.zeros_like(st.canvas, dtype=torch.bool)
    where[0, pos] = True
    out = edit_state(st, where, torch.full_like(st.canvas, tiny.mask_id), tiny.mask_id)
    assert out.masked_left == st.masked_left + 1
    assert torch.isnan(out.commit_confidence[0, pos]) and not torch.isnan(st.commit_confidence[0, pos])
    assert torch.equal(out.remasks, st.remasks)


def test_batched_trace_rows_untouched(tiny):
    cfg = DecodeConfig(policy="confidence", steps=4)
    canvas = torch.tensor([[3, 4] + [tiny.mask_id] * 6, [5, 6] + [tiny.mask_id] * 6])
    st = init_state(tiny, canvas, cfg)
    from boe_core.sampler import iterate, new_trace

    tr = new_trace(tiny, st, cfg)
    tr.records = list(iterate(tiny, st, cfg))
    pos = first_commit(tr, 0)
    out = intervene(tiny, tr, 1, {int(np.flatnonzero(tr.records[0].chosen[1])[0]): "mask"}, row=1)
    assert np.array_equal(out.final_canvas[0], tr.final_canvas[0])  # row 0 decodes as before
    assert pos >= 2
