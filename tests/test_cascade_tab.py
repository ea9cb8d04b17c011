"""The rebuilt Cascade tab at the handler level: the cost in forwards before it starts, the
counterfactuals as a cancellable job, the dependency graph, every root finder's ranking side by
side, the suspects on the canvas, the cache, a click opening the counterfactual in Compare; on
the shipped sudoku model and a tiny text model (no checker: nothing is refused)."""
import re
import threading

import numpy as np
import pytest
import torch

from app import cascade as C, handlers as H, jobs, models
from app.session import Session
from app_helpers import offer_tiny_text_model
from boe_core.counterfactuals import Counterfactuals
from boe_core.roots import ROOT_FINDERS
from boe_core.tasks.sudoku import load_examples


def _values(model, **over):
    v = dict(model=model, prompt="abc", gen_length=6, puzzle=load_examples()[0]["puzzle"], policy="confidence",
             steps=12, block_length=0, temperature=0.0, seed=0, settings={})
    v.update(over)
    return v


@pytest.fixture(scope="module")
def sudoku():
    torch.set_num_threads(1)
    models.configure()
    sess = Session()
    list(H.run(sess, **_values("sudoku")))
    return sess


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    root = offer_tiny_text_model(tmp_path_factory.mktemp("tiny_text"))
    sess = Session()
    list(H.run(sess, **_values(root, steps=6)))
    yield sess
    models.configure()


def test_the_cost_is_shown_before_anything_runs(sudoku):
    sess = Session(model="sudoku", task="sudoku", trace=sudoku.trace)
    sess.trace.counterfactuals.clear()
    html = C.cascade_cost(sess)
    n = len([1 for r in sess.trace.records for p in np.flatnonzero(r.chosen[0] & ~sess.trace.fixed[0])])
    assert f"{n} counterfactuals" in html and "batched forwards" in html


def test_graph_rankings_and_suspects_of_a_sudoku_run(sudoku):
    tr = sudoku.trace
    tr.counterfactuals.clear()
    outs = list(C.cascade(sudoku))
    _, summary, graph, table, canvas, data = outs[-1]
    cf = Counterfactuals.from_trace(tr, 0)  # stored in the trace: exported with it
    assert cf is not None and data["status"] == "done" and len(data["commits"]) == cf.n
    # the graph: one row per commit in order, a marked cell where the replacement changed the final canvas
    rows = re.findall(r'<div class="dep-row[^"]*" data-step="(\d+)" data-pos="(\d+)"', graph)
    assert [(int(s), int(p)) for s, p in rows] == cf.commits()
    assert graph.count('<i class="chg">') == int(cf.dependency.sum()) and graph.count('<i class="self">') == cf.n
    # every registered finder ranks every commit, 1..n, side by side
    for name in ROOT_FINDERS.names():
        ranks = sorted(c[f"rank:{name}"] for c in data["commits"])
        assert ranks == list(range(1, cf.n + 1)), name
        assert f"<th data-finder='{name}'" in table
    # the exact column follows g, largest first; the canvas rings the lead finder's top 3
    g = np.array([c["g"] for c in data["commits"]], float)
    assert data["commits"][int(np.argmax(g))]["rank:counterfactual"] == 1
    top = data["suspects"][C.LEAD]
    assert C.LEAD == "reread-surprise" and f"by {C.LEAD}" in canvas
    # the table lists the commits in the lead finder's order
    assert re.findall(r"<th data-finder='([^']+)'", table)[0] == C.LEAD
    listed = [(int(s), int(p)) for s, p in re.findall(r"<tr data-step='(\d+)' data-pos='(\d+)'", table)]
    assert listed[:3] == [tuple(x) for x in top]
    for i, (_, p) in enumerate(top):
        assert re.search(rf'suspect" data-pos="{p}" data-tip="[^"]*" data-rank="{i + 1}"', canvas)
    # another finder's suspects, from the cached rankings
    other = C.cascade_suspects(sudoku, "lowest-confidence")
    assert "by lowest-confidence" in other and other.count('suspect" data-pos') == 3
    again = list(C.cascade(sudoku))
    assert len(again) == 1 and again[0][-1]["cached"]


def test_a_click_opens_the_counterfactual_in_compare(sudoku):
    list(C.cascade(sudoku))
    cf = Counterfactuals.from_trace(sudoku.trace, 0)
    j = int(np.flatnonzero(cf.steps < sudoku.trace.num_steps - 1)[-1])
    out = list(C.cascade_open(sudoku, int(cf.steps[j]), int(cf.positions[j])))[-1]
    assert out[-1]["intervention"] == {**out[-1]["intervention"], "step": int(cf.steps[j]) + 1,
                                       "positions": [int(cf.positions[j])], "new": [int(cf.alternatives[j])]}
    assert np.array_equal(sudoku.branch.final_canvas[0], cf.finals[j])  # the same branch the graph drew
    clue = int(np.flatnonzero(sudoku.trace.fixed[0])[0])
    with pytest.raises(Exception, match="not committed"):
        list(C.cascade_open(sudoku, 0, clue))


def test_a_text_run_without_a_checker_is_not_refused(text):
    _, summary, graph, table, canvas, data = list(C.cascade(text))[-1]
    assert data["checker"] is None and "no checker" in summary and "fixes?" not in table
    assert data["commits"] and all(c["fixes"] is None for c in data["commits"])
    assert 'class="chips"' in canvas and "suspect" in canvas


def test_cancel_and_a_new_run_stop_the_cascade_job(sudoku, monkeypatch):
    import app.cascade as mod

    gate = threading.Event()

    def slow(model, trace, row=0, progress=None, cancel=None, **kw):
        while not cancel.is_set():
            gate.wait(0.05)
        return Counterfactuals(row, *(np.zeros(0, np.int64),) * 4, *(np.zeros(0),) * 4, np.zeros((0, 81), np.int64),
                               trace.final_canvas[0], complete=False)

    monkeypatch.setattr(mod, "counterfactuals", slow)
    sess = Session()
    list(H.run(sess, **_values("sudoku", steps=8)))
    gen = C.cascade(sess)
    first = next(gen)
    assert "computing the counterfactuals" in first[1]
    job = jobs.running(sess.uid, C.KIND)[0]
    assert C.cascade_cancel(sess)["cancelled"] == [job.id]
    last = list(gen)[-1]
    assert "cancelled" in last[1] and last[-1]["status"] == "cancelled"
    # a new run (other settings) cancels the old run's cascade job
    gen = C.cascade(sess)
    next(gen)
    job = jobs.running(sess.uid, C.KIND)[0]
    list(H.run(sess, **_values("sudoku", steps=9)))
    assert job.finished.wait(30) and job.status == "cancelled"
    gen.close()


def test_repair_a_wrong_hard_sudoku_run_shows_both_canvases_and_its_rounds():
    from app import repair as R

    hard = next(e for e in load_examples() if e["name"] == "hard27-3")  # confidence gets it wrong at 24 steps
    sess = Session()
    list(H.run(sess, **_values("sudoku", puzzle=hard["puzzle"], steps=24)))
    html, data = R.repair(sess, 3)
    assert "the run: wrong (the checker)" in html and "repaired: " in html
    assert len(data["rounds"]) == 3  # the model doubts some of its tokens, so every suspect is tried
    changed = set(data["changed"])
    assert changed
    final = sess.trace.final_canvas[0]
    for r in data["rounds"]:
        assert final[r["position"]] == r["old"] and r["old"] != r["new"]  # the suspect took another token
    if changed:  # the marked cells are exactly the changed ones, on both canvases
        marked = {int(m) for m in re.findall(r'class="[^"]*edited[^"]*" data-pos="(\d+)"', html)}
        assert marked == changed
        assert any(r["accepted"] for r in data["rounds"])


def test_repair_a_text_run_without_a_checker(text):
    from app import repair as R

    html, data = R.repair(text, 1)
    assert "(the checker)" not in html  # nothing judged
    assert "round(s) tried" in html and data["forwards"] >= 0


@pytest.mark.parametrize("rounds", [0, 11, "x", -1])
def test_repair_refuses_a_bad_round_count_by_name(text, rounds):
    from app import repair as R
    from boe_core import ConfigError

    with pytest.raises((ConfigError, ValueError)) as e:
        R.repair(text, rounds)
    assert "rounds" in str(e.value)


def test_repair_refuses_an_unfinished_run():
    from app import repair as R
    from app.session import UserError

    with pytest.raises(UserError):
        R.repair(Session(), 1)


def test_restarts_turn_a_doubted_view_hop_run_into_the_grid_the_model_believes():
    from app import restarts as R

    hard = next(e for e in load_examples() if e["name"] == "hard27-1")  # view-hop's first decode is wrong there
    sess = Session()
    list(H.run(sess, **_values("sudoku", puzzle=hard["puzzle"], steps=81, policy="view-hop")))
    html, data = R.restarts(sess, 3)
    assert "the run: wrong (the checker)" in html and "kept: right (the checker)" in html
    assert data["decodes"] == 2 and data["kept"] == 1  # the second decode was believed: no third
    assert data["least_believed"][0] < 0.9 <= data["least_believed"][1]
    assert html.count("<tr class=") == 2 and "believed: stop" in html
    changed = {int(i) for i in np.flatnonzero(np.asarray(data["final"]) != sess.trace.final_canvas[0])}
    marked = {int(m) for m in re.findall(r'class="[^"]*edited[^"]*" data-pos="(\d+)"', html)}
    assert changed and marked == changed


def test_restarts_refuse_another_policy_and_bad_counts_by_name(sudoku):
    from app import restarts as R
    from app.session import UserError
    from boe_core import ConfigError

    with pytest.raises(UserError, match="view-hop"):
        R.restarts(sudoku, 2)  # the fixture's run used confidence
    for bad in (0, 5, "x"):
        with pytest.raises((ConfigError, ValueError)) as e:
            R.restarts(sudoku, bad)
        assert "decodes" in str(e.value)


def test_backtracking_undoes_a_wrong_guess_of_a_view_hop_run():
    from app import restarts as R

    hard = next(e for e in load_examples() if e["name"] == "hard27-2")
    sess = Session()
    list(H.run(sess, **_values("sudoku", puzzle=hard["puzzle"], steps=81, policy="view-hop")))
    html, data = R.backtrack_run(sess, 6)
    assert "the run: wrong (the checker)" in html and "kept: right (the checker)" in html
    undos = [e for e in data["events"] if "undo" in e]
    assert data["undos"] == len(undos) >= 1 and html.count("<td>undo</td>") == len(undos)
    assert all(e["from"] != e["to"] for e in undos) and data["least_believed"] >= 0.9
    html0, data0 = R.backtrack_run(sess, 0)  # no undo allowed: the run's own grid, read back once
    assert data0["undos"] == 0 and np.array_equal(data0["final"], sess.trace.final_canvas[0])


def test_backtracking_refuses_another_policy_and_bad_counts_by_name(sudoku):
    from app import restarts as R
    from app.session import UserError
    from boe_core import ConfigError

    with pytest.raises(UserError, match="view-hop"):
        R.backtrack_run(sudoku, 2)
    for bad in (-1, 13, "x"):
        with pytest.raises((ConfigError, ValueError)) as e:
            R.backtrack_run(sudoku, bad)
        assert "undos" in str(e.value)
