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
