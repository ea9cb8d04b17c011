"""A new run replaces the old one, so every background job computed for the old run stops, of
whatever tab or kind (the lock-in map, whole-run fidelity, the cascade, counterfactuals ...)."""
from __future__ import annotations


import pytest

from app import handlers as H, jobs, models
from app.session import Session
from boe_core.tasks.sudoku import load_examples


def _blocking(job):
    assert job.cancel.wait(30), "never cancelled"
    return "stopped"


@pytest.fixture(scope="module")
def sudoku():
    models.configure()
    return "sudoku"


def values(model, steps):
    return dict(model=model, prompt="", gen_length=8, puzzle=load_examples()[0]["puzzle"], policy="confidence",
                steps=steps, block_length=0, temperature=0.0, seed=0, settings={})


def test_a_new_run_cancels_every_job_of_the_old_one(sudoku):
    sess = H.reset(Session(), **values(sudoku, 4))[0]
    other = Session()
    started = [jobs.start(kind, sess.uid, _blocking) for kind in ("lockin", "fidelity_run", "cascade", "any-new-kind")]
    theirs = jobs.start("cascade", other.uid, _blocking)  # another user's job is not touched
    list(H.run(sess, **values(sudoku, 6)))  # other settings: a new run
    for job in started:
        assert job.finished.wait(30) and job.status == "cancelled", job.kind
    assert theirs.status == "running"
    theirs.cancel.set()
    assert theirs.finished.wait(30)


def test_stepping_the_same_run_keeps_its_jobs(sudoku):
    sess = H.reset(Session(), **values(sudoku, 4))[0]
    job = jobs.start("lockin", sess.uid, _blocking)
    H.step(sess, **values(sudoku, 4))  # the same settings: the same run goes on
    assert not job.finished.wait(0.2) and job.status == "running"
    job.cancel.set()
    assert job.finished.wait(30)


def test_every_tab_is_a_unit_whose_state_a_new_run_forgets():
    from app.session import Session
    from app.tabs import all_tabs

    tabs = all_tabs()
    assert [t.id for t in tabs][:2] == ["explore", "compare"] and len({t.id for t in tabs}) == len(tabs)
    for t in tabs:
        assert set(t.state) <= set(Session.RUN_STATE), t.id  # a new run forgets what the tab keeps
    sess = Session(branch="b", diff="d", lockin="m", fidelity="f", fidelity_run="r", compare_view=3, shown_step=5)
    sess.forget_run_state()
    assert (sess.branch, sess.lockin, sess.fidelity_run, sess.compare_view, sess.shown_step) == (None, None, None, None, -1)
