"""The cascade stories (tools/make_cascade_stories.py) opened in the Cascade tab through its
handler: the story's run is decoded with the settings it was measured with, its counterfactuals
and root finders computed, and they show what the story's text says (the top commit of each
finder, the root's ranks, whether the loop goes away, the fixed bio answer). On the shipped
english and bio models (slow: each runs the whole Cascade, 25-30 s on one CPU thread); the
mechanism on a tiny model with a story written here (fast)."""
import html
import json

import numpy as np
import pytest
import torch

from app import cascade as C, models, stories
from app.session import Session
from boe_core import intervene
from boe_core.counterfactuals import runner_up
from boe_core.tasks.views import get_view

pytestmark = pytest.mark.filterwarnings("ignore")


def _story(model):
    told = [s for s in stories.load_stories(model) if s.get("kind") == stories.CASCADE]
    if not told:
        pytest.skip(f"no cascade story for {model} (tools/make_cascade_stories.py --model {model})")
    return told[0]


def _open(model):
    torch.set_num_threads(1)
    models.configure()
    st = _story(model)
    sess = Session()
    outs = list(C.cascade_story(sess, model, st["label"]))
    sess, panel, finder, _summary, graph, table, _canvas, data, rep_html, rep = outs[-1]
    assert data["status"] == "done" and data["complete"]
    if model != "sudoku":
        return st, sess, panel, finder, graph, table, data
    return st, sess, panel, finder, graph, table, data, rep_html, rep


def _rank(data, commit, finder):
    row = next(c for c in data["commits"] if (c["step"], c["position"]) == (commit["step"], commit["position"]))
    return row[f"rank:{finder}"]


@pytest.fixture(scope="module")
def english():
    return _open("english")


@pytest.fixture(scope="module")
def bio():
    return _open("bio")


@pytest.fixture(scope="module")
def sudoku():
    return _open("sudoku")


def test_the_picker_lists_each_models_cascade_story():
    assert stories.cascade_labels("english") and stories.cascade_labels("bio")
    assert stories.cascade_labels("sudoku") == [s["label"] for s in stories.load_stories("sudoku")
                                                if s.get("kind") == stories.CASCADE]  # the hard puzzle's only
    for model in ("english", "bio", "sudoku"):
        st = _story(model)
        assert st["cascade"]["open"] == [st["branch_at"] - 1, st["cascade"]["open"][1]]
        assert "Cascade" in stories.story_html(st)  # the setup picker says where it opens


@pytest.mark.slow
def test_the_english_story_shows_its_loop_and_the_measured_ranks(english):
    st, sess, panel, finder, graph, table, data = english
    f = st["facts"]
    tr = sess.trace
    assert tr.config["policy"] == st["run_settings"]["policy"] and tr.num_steps == f["steps"]
    assert f["loop"] is not None and f["loop"]["phrase"] in f["run_text"]
    decoded = np.flatnonzero(~tr.fixed[0] & tr.records[0].masked[0])
    assert models.get_adapter("english").decode(tr.final_canvas[0][decoded].tolist()) == f["run_text"]
    # the exact score's and the default one-pass finder's first suspects are the story's
    assert tuple(data["suspects"]["counterfactual"][0]) == (f["exact_top"]["step"], f["exact_top"]["position"])
    assert tuple(data["suspects"]["grad-likelihood"][0]) == (f["one_pass_top"]["step"], f["one_pass_top"]["position"])
    for name, r in f["exact_top"]["ranks"].items():
        assert _rank(data, f["exact_top"], name) == r, name
    # the story's commit is outlined, and the canvas shows its finder's suspects
    s, p = st["cascade"]["open"]
    assert f'data-step="{s}" data-pos="{p}" style=' in graph and "class='story'" in table
    assert finder == "grad-likelihood" and html.escape(st["label"]) in panel


@pytest.mark.slow
def test_the_english_storys_replaced_commit_gives_the_run_it_states(english):
    st, sess, *_ = english
    f = st["facts"]
    e = f["exact_top"]
    assert sess.trace.counterfactuals  # stored with the trace: exported with it
    _, _, alt, _ = runner_up(sess.trace, e["step"], e["position"])
    out = intervene(models.get_adapter("english"), sess.trace, e["step"] + 1, {e["position"]: alt})
    assert out.final_canvas[0].tolist() == f["branch_final"]
    loop_went = f["branch_loop"] is None
    assert ("the loop is gone" in st["explanation"]) == loop_went


@pytest.mark.slow
def test_the_bio_story_shows_the_root_its_ranks_and_the_fixed_answer(bio):
    st, sess, _, _, _, _, data = bio
    f = st["facts"]
    r = f["root"]
    view = get_view(sess.task)
    tr = sess.trace
    assert not view.solved(tr, tr.num_steps - 1) and view.answer_at(tr, tr.num_steps - 1) == f["run_answer"]
    for name, k in r["ranks"].items():
        assert _rank(data, r, name) == k, name
    row = next(c for c in data["commits"] if (c["step"], c["position"]) == (r["step"], r["position"]))
    assert row["fixes"] == f["runner_up_fixes"]
    assert sum(bool(c["fixes"]) for c in data["commits"]) == f["fixes_any"]
    assert tuple(data["suspects"]["counterfactual"][0]) == (f["exact_top"]["step"], f["exact_top"]["position"])
    # the root corrected: the answer the story states, right
    adapter = models.get_adapter("bio")
    right = adapter.encode(r["correct"])[0]
    fixed = intervene(adapter, tr, r["step"] + 1, {r["position"]: right})
    assert view.answer_at(fixed, fixed.num_steps - 1) == f["fixed_answer"] and view.solved(fixed, fixed.num_steps - 1)


def test_a_lock_in_story_is_not_opened_as_a_cascade_story():
    from app.session import UserError

    other = [s for s in stories.load_stories("bio") if s.get("kind") != stories.CASCADE]
    if not other:
        pytest.skip("bio has no other story")
    with pytest.raises(UserError, match="not a cascade story"):
        list(C.cascade_story(Session(), "bio", other[0]["label"]))


def test_the_story_files_record_the_command_that_made_them():
    for model in ("english", "bio", "sudoku"):
        doc = json.loads(stories.story_file(model).read_text())
        assert doc["made_by_cascade"].startswith(f"python tools/make_cascade_stories.py --model {model}")
        assert np.isfinite(_story(model)["facts"]["counterfactual_seconds"])
    sv = _story("english")["facts"]["survey"]  # the other prompts the script ran, summed as the text says
    loops = [r for r in sv["runs"] if r["loops"]]
    assert sv["looping"] == len(loops) <= sv["prompts"] == len(sv["runs"])
    assert sv["exact_top_fewer"] == sum(r["exact_top_repeats"] < r["repeats"] for r in loops)
    assert f"{sv['looping']} runs loop too" in _story("english")["explanation"]


def test_a_story_opens_with_its_settings_finder_and_outlined_commit(tmp_path, monkeypatch):
    """The handler on a tiny random text model offered as a folder: the story's inputs and policy
    are run, its commit outlined, the canvas ringed by its finder, and the setup picker says where
    it opens."""
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
    from boe_core.tokenization import char_tokenizer

    torch.manual_seed(0)
    torch.set_num_threads(1)
    root = tmp_path / "tiny-story"
    tok = char_tokenizer(list("abcdefghij "), {"mask_token": "[MASK]", "pad_token": "[PAD]"})
    TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=32, d_model=16, n_layers=1, n_heads=2)).save_pretrained(root)
    tok.save(root)
    story = {"label": "tiny: a story", "kind": "cascade", "values": {"prompt": "abc", "gen_length": 6, "steps": 3},
             "run_preset": "margin", "run_settings": {"policy": "margin"}, "other_preset": "margin", "branch_at": 2,
             "cascade": {"open": None, "finder": "lowest-confidence"}, "facts": {}, "explanation": "measured"}
    (tmp_path / "stories_tiny-story.json").write_text(json.dumps({"stories": [story]}))
    monkeypatch.setattr(stories, "EXAMPLES_DIR", tmp_path)
    models.configure(extra=[str(root)])
    try:
        from boe_core.counterfactuals import commits_of

        first = list(C.cascade_story(Session(), str(root), "tiny: a story"))[-1]
        s, p = commits_of(first[0].trace, 0)[0]
        story["cascade"]["open"] = [s, p]
        (tmp_path / "stories_tiny-story.json").write_text(json.dumps({"stories": [story]}))
        sess, panel, finder, _summary, graph, table, canvas, _data, rep_html, rep = list(
            C.cascade_story(Session(), str(root), "tiny: a story"))[-1]
    finally:
        models.configure()
    tr = sess.trace
    assert tr.config["policy"] == "margin" and tr.num_steps == 3 and tr.finished
    assert finder == "lowest-confidence" and "suspect by lowest-confidence" in canvas
    assert f'data-step="{s}" data-pos="{p}" style=' in graph and graph.count(C.STORY_STYLE) == 1
    assert table.count("class='story'") == 1 and "measured" in panel
    assert rep == {} and "round(s) tried" not in rep_html  # a story that names no repair leaves the panel empty
    assert stories.cascade_labels(str(root)) == ["tiny: a story"] and "Cascade" in stories.story_html(story)


@pytest.mark.slow
def test_the_hard_sudoku_story_shows_where_confidence_lost_it_and_what_repair_committed(sudoku):
    st, sess, panel, finder, graph, table, data, rep_html, rep = sudoku
    f = st["facts"]
    r = f["root"]
    view = get_view(sess.task)
    tr = sess.trace
    assert st["values"]["puzzle"] == f["puzzle"] and f["clues"] == 27 and tr.num_steps == f["steps"] == 24
    assert not view.solved(tr, tr.num_steps - 1) and f["oracle_solved"]
    for name, k in r["ranks"].items():
        assert _rank(data, r, name) == k, name
    # the repair the story states: its rounds, what they changed, and a right grid
    assert [(x["step"], x["accepted"]) for x in rep["rounds"]] == [(x["step"], x["kept"]) for x in f["repair"]["rounds"]]
    assert len(rep["changed"]) == f["repair"]["changed_cells"] and rep["forwards"] == f["repair"]["forwards"]
    assert "repaired: right (the checker)" in rep_html and "the run: wrong (the checker)" in rep_html
    assert "repair" in st["explanation"] and f"{r['where']} = {r['token']}" in st["explanation"]
