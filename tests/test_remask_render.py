"""The explorer draws remasks: struck through on the canvas with the step the position came back,
marked on the heatmaps and the entropy curve, and listed in a position's history."""
import numpy as np
import pytest

from app import canvas, charts
from app.remask import came_back, remask_points
from boe_core import TinyMDMAdapter, generate


@pytest.fixture(scope="module")
def revised():
    m = TinyMDMAdapter.random(seed=3, d_model=16, n_layers=1)
    tr = generate(m, "abc", gen_length=16, policy="remdm", variant="confidence", eta=0.3, start=0.0, steps=8,
                  meta={"task": "text"})
    assert any(r.remasked.any() for r in tr.records)
    return tr


def test_a_remasked_token_is_struck_through_with_the_step_it_came_back(revised):
    k = next(r.step for r in revised.records if r.remasked[0].any())
    p = int(np.flatnonzero(revised.records[k].remasked[0])[0])
    back = came_back(revised, k)[p]
    assert back is not None and back > k and revised.records[back].chosen[0, p]
    html = canvas.canvas_html(revised, k)
    chip = html[html.index(f'data-pos="{p}"') - 80:]
    chip = chip[:chip.index("</span>", chip.index("<s>")) + 40]
    assert "remasked" in chip and "<s>" in chip and f"↺{back}" in chip
    assert "taken back at this step" in html
    later = canvas.canvas_html(revised, revised.num_steps - 1)
    assert "history: commit @" in later and "remask @" in later
    assert "lg-remasked" in canvas.legend_html("none", 0, 1)


def test_heatmaps_and_the_curve_mark_remasks(revised):
    xs, ys = remask_points(revised)
    assert xs and len(xs) == sum(int(r.remasked[0].sum()) for r in revised.records)
    fig = charts.heatmap_figure(revised, "entropy", 0)
    marks = [t for t in fig.data if t.name == "remask"]
    assert marks and list(marks[0].x) == xs and list(marks[0].y) == ys
    curve = charts.entropy_figure([("run", revised)])
    steps = [r.step for r in revised.records if r.remasked[0].any()]
    assert any(t.name == "run: remask" and list(t.x) == steps for t in curve.data)


def test_a_grid_canvas_strikes_remasked_cells(tiny_sudoku_dir):
    from boe_core import load_model
    from boe_core.tasks.sudoku import load_examples, puzzle_to_canvas

    m = load_model(tiny_sudoku_dir)
    ids, _ = puzzle_to_canvas(load_examples()[0]["puzzle"], m.tokenizer)
    tr = generate(m, canvas=ids[None], steps=12, policy="remdm", eta=0.3, start=0.0, meta={"task": "sudoku"})
    k = next(r.step for r in tr.records if r.remasked[0].any())
    html = canvas.canvas_html(tr, k, view="sudoku")
    assert 'class="cell' in html and "remasked" in html and "<s>" in html
