"""The explorer's Cascade tab on a shipped-model run that ends wrong: the counterfactuals find
wrong commits and say which of them fix the answer, the checker's first wrong commit is kept,
and a clear message when there is nothing to examine."""
import json
from pathlib import Path

import numpy as np
import pytest

from app import cascade as C, models
from app.session import Session, UserError
from boe_core import generate, load_model
from boe_core.tasks.views import get_view

VAL = Path(__file__).resolve().parents[1] / "assets" / "data" / "sudoku" / "heldout_val.jsonl"


@pytest.fixture(scope="module")
def wrong_run():
    """The first validation puzzle that confidence gets wrong at 12 steps."""
    models.configure()
    m = load_model("sudoku")
    view = get_view("sudoku")
    for line in VAL.read_text().splitlines():
        row = json.loads(line)
        plan = view.build_canvas(m, {"puzzle": row["puzzle"]})
        plan.meta["solution"] = row["solution"]
        tr = generate(m, canvas=plan.ids, steps=12, policy="confidence", meta=plan.meta)
        if not view.solved(tr, tr.num_steps - 1) and view.first_wrong(tr)["step"] < 9:
            return tr
    pytest.skip("no wrong run in the validation split")


def test_the_cascade_view_judges_each_counterfactual_with_the_checker(wrong_run):
    sess = Session(model="sudoku", task="sudoku", trace=wrong_run)
    *_, (sess2, summary, graph, table, canvas, data) = list(C.cascade(sess))
    fw = get_view("sudoku").first_wrong(wrong_run)
    assert data["checker"]["solved"] is False and data["checker"]["first_wrong"]["step"] == fw["step"]
    assert f"first wrong commit: step {fw['step']}" in summary and "run: wrong" in summary
    fixes = [c["fixes"] for c in data["commits"]]
    assert all(f in (True, False) for f in fixes)
    assert "counterfactuals make the answer right" in summary and "fixes?" in table
    assert 'class="cell' in canvas and "err-" in canvas  # the wrong cells, drawn by the view
    # a counterfactual that fixes the answer replaces a commit the checker calls wrong
    sol = wrong_run.meta["solution"]
    for c in data["commits"]:
        if c["fixes"]:
            assert str(sol[c["position"]]) != wrong_run.id_to_token[c["token"]]


def test_nothing_to_examine_is_said(wrong_run):
    from boe_core import Trace

    with pytest.raises(UserError, match="run \\(or load\\)"):
        list(C.cascade(Session()))
    part = Trace.from_dict(wrong_run.to_dict())
    part.records = part.records[:3]
    with pytest.raises(UserError, match="run it to the end"):
        list(C.cascade(Session(model="sudoku", task="sudoku", trace=part)))
    assert "run it to the end" in C.cascade_cost(Session(model="sudoku", task="sudoku", trace=part))
    with pytest.raises(UserError, match="job_id"):
        C.cascade_cancel(Session(), "no-such-job")
    with pytest.raises(Exception, match="finder"):
        list(C.cascade(Session(model="sudoku", task="sudoku", trace=wrong_run), "no-such-finder"))


@pytest.mark.slow  # a live server
def test_the_cascade_tab_through_the_api(wrong_run):
    gradio_client = pytest.importorskip("gradio_client")
    import httpx

    from app_helpers import live_server

    with live_server() as url:
        c = gradio_client.Client(url, verbose=False, httpx_kwargs={"timeout": httpx.Timeout(600.0, connect=60.0)})
        c.predict(model="sudoku", puzzle=wrong_run.meta["puzzle"], steps=12, policy="confidence", api_name="/run")
        data = c.predict(finder="counterfactual", api_name="/cascade")[-1]
        assert data["status"] == "done" and data["checker"]["solved"] is False
        assert len(data["suspects"]["counterfactual"]) == 3
        s, p = data["suspects"]["counterfactual"][0]
        cmp = c.predict(step=s, position=p, api_name="/cascade_open")[-1]
        assert cmp["intervention"]["step"] == s + 1 and cmp["intervention"]["positions"] == [p]
        assert np.isfinite(cmp["steps_b"])
