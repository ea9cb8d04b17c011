"""The oracle ceiling in the explorer: on a Sudoku whose solution the view knows, picking `oracle`
shows what the order alone could have done; where there is no answer, it is refused clearly."""
from __future__ import annotations

import pytest

from app import handlers as H, models
from app.session import Session
from boe_core.tasks.sudoku import load_examples, normalize_grid


@pytest.fixture(scope="module")
def hard():
    models.configure()
    ex = next(e for e in load_examples() if e.get("name", "").startswith("hard27") or
              sum(c != "0" for c in normalize_grid(e["puzzle"])) == 27)
    return ex


def values(puzzle, policy, steps=24):
    return dict(model="sudoku", prompt="", gen_length=8, puzzle=puzzle, policy=policy, steps=steps, block_length=0,
                temperature=0.0, seed=0, settings={})


def test_the_oracle_runs_on_a_sudoku_with_a_known_solution(hard):
    sess = Session()
    out = list(H.run(sess, **values(hard["puzzle"], "oracle")))[-1]
    assert sess.trace.num_steps == 24 and sess.trace.config["policy"] == "oracle"
    from boe_core.tasks.sudoku import canvas_to_grid

    final = canvas_to_grid(sess.trace.final_canvas[0], models.get_adapter("sudoku").tokenizer)
    assert final == normalize_grid(hard["solution"])  # the shipped model's proposals, in the answer's order
    assert "solved" in out[2].lower()


def test_the_oracle_is_refused_where_there_is_no_answer():
    models.configure()
    name = "kjv" if "kjv" in models.model_choices() else "english"
    out = H.reset(Session(), model=name, prompt="In the beginning", gen_length=8, puzzle="", policy="oracle",
                  steps=8, block_length=0, temperature=0.0, seed=0, settings={})
    assert out[0].trace is None and "reads the answer" in out[-2]


def test_a_wrong_run_says_whether_the_order_alone_could_have_solved_it():
    """Confidence gets hard27-3 wrong at 24 steps; the oracle order, with the same model and budget,
    solves it: the status says so. A right run and free text compute no ceiling."""
    from app.status import status_html

    ex = next(e for e in load_examples() if e["name"] == "hard27-3")
    sess = Session()
    out = list(H.run(sess, **values(ex["puzzle"], "confidence")))[-1]
    assert sess.order_ceiling == {"policy": "oracle", "steps": 24, "solved": True}
    assert "the order alone could have solved this" in out[2]
    assert "the order alone" not in status_html(sess.trace, 3, sess.task, ceiling=sess.order_ceiling)  # last step only
    assert "order_ceiling" not in sess.trace.meta  # a hint of the session, never exported with the trace
    easy = Session()
    list(H.run(easy, **values(load_examples()[0]["puzzle"], "confidence")))
    assert easy.order_ceiling is None  # solved: nothing to explain


def test_an_offered_reasoning_example_gives_the_oracle_its_reference():
    import torch

    from boe_core.tasks.views import get_view

    models.configure()
    adapter = models.get_adapter("reasoning")
    view = get_view(adapter.task)
    ex = next(c for c in view.examples() if c.label.startswith("arith-cot"))
    plan = view.build_canvas(adapter, ex.values)
    task, body = view.parse(ex.values["prompt"])
    gen = task.gen_length
    assert plan.target is not None and (plan.target[0, :-gen] == -1).all()
    answer = plan.target[0, -gen:].tolist()
    eos = adapter.tokenizer.eos_id
    text = adapter.decode([t for t in answer if t != eos])
    assert text == plan.meta["example"]["answer"][:gen] and answer[-1] == eos
    other = view.build_canvas(adapter, {**ex.values, "prompt": ex.values["prompt"][:-1] + "0"})
    assert other.target is None or torch.equal(other.target, plan.target) is False
