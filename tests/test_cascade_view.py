"""The explorer's Cascade tab on a shipped-model run that ends wrong: the first wrong commit and its
rank by remask TIS at each later step; a clear message when there is nothing to trace back."""
import json
from pathlib import Path

import pytest

from app import cascade as C
from app.session import Session, UserError
from boe_core import generate, load_model
from boe_core.tasks.views import get_view

VAL = Path(__file__).resolve().parents[1] / "assets" / "data" / "sudoku" / "heldout_val.jsonl"


@pytest.fixture(scope="module")
def wrong_run():
    """The first validation puzzle that confidence gets wrong at 12 steps."""
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


def test_the_cascade_view_ranks_the_first_wrong_commit(wrong_run):
    sess = Session(model="sudoku", task="sudoku", trace=wrong_run)
    *_, (sess2, fig, summary, data) = list(C.cascade(sess))
    fw = data["first_wrong"]
    pts = data["remask TIS"]
    assert pts and all(p["step"] > fw["step"] and 1 <= p["rank"] <= p["n_committed"] for p in pts)
    assert len(data["lowest commit confidence"]) == len(pts)
    assert "first wrong commit: step" in summary and "later steps" in summary
    assert {t.name for t in fig.data} >= {"remask TIS", "lowest commit confidence", "chance (mean rank)"}


def test_nothing_to_trace_back_is_said(wrong_run):
    m = load_model("sudoku")
    solved = generate(m, canvas=wrong_run.initial_canvas, steps=12, policy="confidence",
                      meta={**wrong_run.meta, "solution": None})
    with pytest.raises(UserError):
        list(C.cascade(Session(model="sudoku", task="text", trace=solved)))
    with pytest.raises(UserError, match="run \\(or load\\)"):
        list(C.cascade(Session()))
    assert "Find the root" in C.cascade_figure(None).layout.annotations[0].text


def test_the_cascade_view_refuses_an_unfinished_run_and_unknown_jobs(wrong_run):
    from boe_core import Trace

    part = Trace.from_dict(wrong_run.to_dict())
    part.records = part.records[:3]
    with pytest.raises(UserError, match="run it to the end"):
        list(C.cascade(Session(model="sudoku", task="sudoku", trace=part)))
    with pytest.raises(UserError, match="job_id"):
        C.cascade_cancel(Session(), "no-such-job")


@pytest.mark.slow  # a live server
def test_the_cascade_tab_through_the_api(wrong_run):
    gradio_client = pytest.importorskip("gradio_client")
    import httpx

    from app.testing import live_server

    with live_server() as url:
        c = gradio_client.Client(url, verbose=False, httpx_kwargs={"timeout": httpx.Timeout(600.0, connect=60.0)})
        c.predict(model="sudoku", puzzle=wrong_run.meta["puzzle"], steps=12, policy="confidence", api_name="/run")
        data = c.predict(api_name="/cascade")[-1]
        assert data["status"] == "done" and data["first_wrong"]["step"] < 11
        assert data["remask TIS"] and all(p["rank"] >= 1 for p in data["remask TIS"])
