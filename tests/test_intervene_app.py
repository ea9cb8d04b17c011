"""Interventions in the explorer at the handler level (no server): a committed cell is selected with
its commit step and alternatives, taken back or replaced, and the branch opens in Compare with the
edited cell marked; prompt, masked and bad-token requests are refused with a message. On the
shipped `sudoku` model and a tiny random text model."""
import numpy as np
import pytest
import torch

from app import compare, handlers as H, intervene as IV, models
from app.session import Session, UserError
from app_helpers import offer_tiny_text_model
from boe_core import ConfigError
from boe_core.counterfactuals import counterfactuals
from boe_core.tasks.sudoku import load_examples
from boe_core.tasks.views import commit_steps


def _run(model, **over):
    v = dict(model=model, prompt="ab", gen_length=8, puzzle=load_examples()[0]["puzzle"], policy="confidence",
             steps=12, block_length=0, temperature=0.0, seed=0, settings={})
    v.update(over)
    sess = Session()
    list(H.run(sess, **v))
    return sess


@pytest.fixture(scope="module")
def sudoku():
    torch.set_num_threads(1)
    models.configure()
    return _run("sudoku")


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    """A finished 6-step run of a tiny random character model offered by the explorer."""
    root = offer_tiny_text_model(tmp_path_factory.mktemp("tiny_text"))
    sess = _run(root, prompt="abc", gen_length=6, steps=6)
    yield sess
    models.configure()


def _committed_at(tr, step):
    return int(np.flatnonzero(commit_steps(tr) == step)[0])


def test_a_cell_is_selected_with_its_commit_step_and_alternatives(sudoku):
    tr = sudoku.trace
    pos = _committed_at(tr, 3)
    got_pos, cell, alts, at = IV.select_cell(sudoku, pos)
    assert got_pos == pos and at == 4 and "committed at step 3" in cell
    tok = int(tr.final_canvas[0, pos])
    ids = [int(v[1:]) for _, v in alts.choices]
    assert ids and tok not in ids and alts.value == f"#{ids[0]}"
    assert ids[0] == int(tr.records[3].topk_ids[0, pos][tr.records[3].topk_ids[0, pos] != tok][0])


def test_take_back_opens_the_branch_in_compare_with_the_cell_marked(sudoku):
    tr = sudoku.trace
    pos = _committed_at(tr, 2)
    out = list(IV.intervene(sudoku, pos, "mask"))[-1]
    sess, a_html, b_html, summary, _, _, info = out
    b = sess.branch
    assert info["intervention"]["positions"] == [pos] and info["branched_at"] == 3
    assert b.records[3].canvas_before[0, pos] == tr.mask_id  # taken back before step 3
    assert [r.step for r in b.records[:3]] == [0, 1, 2] and b.finished
    assert "intervened before step 3" in summary and "[MASK]" in summary
    assert f'edited" data-pos="{pos}"' in b_html and "edited" not in a_html


def test_replacing_with_the_runner_up_is_that_commits_counterfactual(sudoku):
    """The counterfactual of a commit (boe_core.counterfactuals: its runner-up written right after
    its commit step, the run's policy on) is what the panel's 'replace' makes at the default step."""
    tr = sudoku.trace
    cf = counterfactuals(models.get_adapter("sudoku"), tr, store=False)
    j = int(np.flatnonzero(cf.steps == 4)[0])
    pos, alt = int(cf.positions[j]), int(cf.alternatives[j])
    _, _, alts, at = IV.select_cell(sudoku, pos)
    assert alts.value == f"#{alt}" and at == 5
    out = list(IV.intervene_form(sudoku, pos, "replace", alts.value, "", None, ""))[-1]
    assert np.array_equal(sudoku.branch.final_canvas[0], cf.finals[j])
    assert out[-1]["intervention"]["new"] == [alt]
    # a typed token wins over the dropdown, by its text
    label = sudoku.trace.id_to_token[alt]
    list(IV.intervene_form(sudoku, pos, "replace", None, label, at, "confidence"))
    assert sudoku.branch.records[at].canvas_before[0, pos] == alt


def test_prompt_masked_and_bad_tokens_are_refused(sudoku):
    tr = sudoku.trace
    clue = int(np.flatnonzero(tr.fixed[0])[0])
    pos = _committed_at(tr, 1)
    with pytest.raises(UserError, match="prompt"):
        list(IV.intervene(sudoku, clue, "mask"))
    with pytest.raises(UserError, match="prompt"):
        IV.select_cell(sudoku, clue)
    with pytest.raises(ConfigError, match="token"):
        list(IV.intervene(sudoku, pos, "replace", "not-a-digit"))
    with pytest.raises(ConfigError, match="token"):
        list(IV.intervene(sudoku, pos, "replace", ""))
    with pytest.raises(ConfigError, match="special id"):
        list(IV.intervene(sudoku, pos, "replace", f"#{tr.mask_id}"))
    with pytest.raises(ConfigError, match="already there"):
        list(IV.intervene(sudoku, pos, "replace", f"#{int(tr.final_canvas[0, pos])}"))
    with pytest.raises(ConfigError, match="action"):
        list(IV.intervene(sudoku, pos, "delete"))
    with pytest.raises(ConfigError, match="at_step"):
        list(IV.intervene(sudoku, pos, "mask", "", 99))
    with pytest.raises(ConfigError, match="policy"):
        list(IV.intervene(sudoku, pos, "mask", "", None, "no-such-policy"))
    with pytest.raises(UserError, match="run \\(or load\\)"):
        list(IV.intervene(Session(), 3, "mask"))
    # a cell still masked: an unfinished run's later commits
    part = Session()
    v = dict(model="sudoku", prompt="", gen_length=8, puzzle=load_examples()[0]["puzzle"], policy="confidence",
             steps=12, block_length=0, temperature=0.0, seed=0, settings={})
    H.step(part, **v)
    masked = int(np.flatnonzero(part.trace.final_canvas[0] == part.trace.mask_id)[0])
    with pytest.raises(UserError, match="still masked"):
        IV.select_cell(part, masked)


def test_text_runs_take_interventions_and_another_policy(text):
    tr = text.trace
    pos = _committed_at(tr, 0)
    out = list(IV.intervene(text, pos, "mask", "", None, "random"))[-1]
    assert out[-1]["policy_b"] == "random" and text.branch.config["policy"] == "random"
    assert f'edited" data-pos="{pos}"' in out[2]
    prompt = int(np.flatnonzero(tr.fixed[0])[0])
    with pytest.raises(UserError, match="prompt"):
        list(IV.intervene(text, prompt, "replace", "a"))
    tok = "j" if tr.id_to_token[int(tr.final_canvas[0, pos])] != "j" else "i"
    out = list(IV.intervene(text, pos, "replace", tok))[-1]
    assert text.branch.id_to_token[out[-1]["intervention"]["new"][0]] == tok
    assert "intervened before step 1" in out[3]


def test_the_canvas_marks_committed_cells_for_a_click(sudoku):
    from app.canvas import canvas_html

    tr = sudoku.trace
    html = canvas_html(tr, 5, view="sudoku")
    pos = _committed_at(tr, 2)
    clue = int(np.flatnonzero(tr.fixed[0])[0])
    assert f'data-pos="{pos}"' in html and 'data-commit="2"' in html
    cell = html.split(f'data-pos="{clue}"')[1].split(">")[0]
    assert "data-commit" not in cell  # a clue is not clickable for an intervention
    assert compare.intervention_of(tr, tr) is None
