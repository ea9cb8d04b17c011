"""Unit tests of the explorer's pure render functions (records -> HTML / Plotly), no server.

Traces come from small random TinyMDMs built here (a 10-letter text model and a Sudoku-shaped
one), so these tests do not need the shipped models.
"""
import math
import re

import numpy as np
import pytest
import torch

from app import render
from boe_core import TinyMDMAdapter, generate
from boe_core.fidelity import Fidelity
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
from boe_core.tasks.sudoku import load_examples, puzzle_to_canvas, sudoku_tokenizer


@pytest.fixture(scope="module")
def text_trace():
    m = TinyMDMAdapter.random(seed=3, d_model=16, n_layers=1)
    return generate(m, "abc", gen_length=16, policy="boe", steps=4, r=8, meta={"task": "text"})


@pytest.fixture(scope="module")
def conf_trace():
    m = TinyMDMAdapter.random(seed=3, d_model=16, n_layers=1)
    return generate(m, "abc", gen_length=16, policy="confidence", steps=4, meta={"task": "text"})


@pytest.fixture(scope="module")
def sudoku():
    tok = sudoku_tokenizer()
    torch.manual_seed(0)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=81, d_model=16, n_layers=1, n_heads=2, task="sudoku")
    m = TinyMDMAdapter(TinyMDM(cfg), tok, name="sudoku-test")
    ex = load_examples()[0]
    ids, _ = puzzle_to_canvas(ex["puzzle"], tok)
    tr = generate(m, canvas=ids[None], policy="boe", steps=6, r=12,
                  meta={"task": "sudoku", "puzzle": ex["puzzle"], "solution": ex["solution"]})
    return tr, ex


def _classes(html, cls):
    return re.findall(rf'class="[^"]*\b{cls}\b[^"]*"', html)


def test_colour_interpolation_and_contrast():
    assert render.colour("greens", 0.0) == "#f4fbf2"
    assert render.colour("greens", 1.0) == "#006d2c"
    assert render.colour("greens", 2.0) == "#006d2c"  # clamped
    assert render.colour("greens", float("nan")) == "#ffffff"
    assert render.text_colour("#ffffff") == "#111827"
    assert render.text_colour("#000000") == "#ffffff"


def test_text_canvas_tells_states_apart(text_trace):
    tr = text_trace
    for k in range(tr.num_steps):
        html = render.text_canvas_html(tr, k)
        r = tr.records[k]
        assert len(_classes(html, "new")) == int(r.chosen[0].sum())
        assert len(_classes(html, "prompt")) == int(tr.fixed[0].sum())
        still = int(r.masked[0].sum() - r.chosen[0].sum())
        assert len(_classes(html, "mask")) == still
        earlier = int((~tr.fixed[0] & ~r.masked[0]).sum())
        assert len(_classes(html, "prev")) == earlier
    last = render.text_canvas_html(tr, tr.num_steps - 1)
    assert not _classes(last, "mask")


def test_hover_shows_top_proposals(text_trace):
    html = render.text_canvas_html(text_trace, 0)
    tips = re.findall(r'data-tip="([^"]*)"', html)
    masked_tips = [t for t in tips if "masked" in t or "this step" in t]
    assert masked_tips and all("top proposals" in t for t in masked_tips)
    assert any("%" in t for t in masked_tips)


def test_overlay_colours_only_masked_positions(text_trace):
    tr = text_trace
    none = render.text_canvas_html(tr, 1, "none")
    assert "background:" not in none
    for ov in ("confidence", "entropy", "tis", "grad_norm"):
        html = render.text_canvas_html(tr, 1, ov)
        n_coloured = html.count("background:#")
        field = render.OVERLAYS[ov][1]
        vals = getattr(tr.records[1], field)[0]
        assert n_coloured == int((np.isfinite(vals) & tr.records[1].masked[0]).sum())
        assert n_coloured > 0


def test_overlay_range(text_trace, conf_trace):
    lo, hi = render.overlay_range(text_trace, "tis")
    assert lo == -hi and hi > 0
    assert render.overlay_range(text_trace, "confidence") == (0.0, 1.0)
    assert render.overlay_range(conf_trace, "tis") == (-1.0, 1.0)  # not computed: a neutral range
    lo, hi = render.overlay_range(text_trace, "entropy")
    assert lo == 0 and hi > 0


def test_legend_has_key_and_colour_bar():
    html = render.legend_html("entropy", 0.0, 2.5, "sudoku")
    for text in ("clue", "earlier commit", "this step", "still masked", "breaks a rule", "differs from solution"):
        assert text in html
    assert "linear-gradient" in html and "2.5" in html
    assert "linear-gradient" not in render.legend_html("none", 0, 1)


def test_sudoku_grid_has_boxes_and_marks_errors(sudoku):
    tr, ex = sudoku
    k = tr.num_steps - 1
    html = render.sudoku_canvas_html(tr, k)
    assert len(re.findall(r'class="cell\b', html)) == 81
    assert len(_classes(html, "br")) == 18 and len(_classes(html, "bb")) == 18
    assert len(_classes(html, "clue")) == sum(ch != "0" for ch in ex["puzzle"])
    grid = render.sudoku_grid(tr, k)
    rule, wrong = render.sudoku_errors(grid, ex["solution"])
    assert len(_classes(html, "err-sol")) == len(wrong)
    assert len(_classes(html, "err-rule")) == len(rule)
    # A crafted grid: a repeated digit in row 1 and a wrong cell.
    g = list(ex["solution"])
    g[1] = g[0]
    rule, wrong = render.sudoku_errors("".join(g), ex["solution"])
    assert {0, 1} <= rule and wrong == {1}


def test_sudoku_first_wrong_step(sudoku):
    tr, ex = sudoku
    fw = render.first_wrong_step(tr)
    from boe_core.tasks.sudoku import first_error_step

    commits = [(np.flatnonzero(r.chosen[0]).tolist(), r.canvas_after[0, np.flatnonzero(r.chosen[0])].tolist())
               for r in tr.records]
    expected = first_error_step(commits, ex["solution"], ex["puzzle"])
    assert (fw is None and expected is None) or fw["step"] == expected


def test_status_and_summary(sudoku, text_trace):
    tr, _ = sudoku
    s = render.step_summary(tr, 2, "sudoku")
    assert s["step"] == 2 and s["num_steps"] == 6 and s["done"] is True
    assert len(s["canvas"]) == 81 and len(s["commits"]) == int(tr.records[2].chosen[0].sum())
    html = render.status_html(tr, 2, "sudoku")
    assert "step 2 / 5" in html
    st = render.step_summary(text_trace, 0, "text")
    assert st["canvas"].startswith("abc") and "commits" in st
    assert "no trace" in render.status_html(None, -1)


def test_heatmaps(text_trace, conf_trace):
    tr = text_trace
    fig = render.heatmap_figure(tr, "entropy", 1)
    z = np.array(fig.data[0].z, dtype=float)
    s, e = render._region(tr)
    assert z.shape == (tr.num_steps, e - s)
    assert len(fig.data[1].x) == sum(int(r.chosen[0].sum()) for r in tr.records)
    assert fig.layout.shapes and fig.layout.shapes[0].y0 == 0.5
    tis = render.heatmap_figure(tr, "tis", 0)
    assert tis.data[0].zmid == 0
    empty = render.heatmap_figure(conf_trace, "tis", 0)
    assert not empty.data and "not computed" in empty.layout.annotations[0].text
    assert not render.heatmap_figure(None, "entropy").data


def test_entropy_curves(text_trace, conf_trace):
    fig = render.entropy_figure([("a", text_trace), ("b", conf_trace)], 2, marks=[(1, "branch")])
    assert len(fig.data) == 2
    np.testing.assert_allclose(fig.data[0].y, text_trace.masked_entropy_curve()[:, 0], rtol=1e-6)
    assert len(fig.layout.shapes) == 2


def test_fidelity_figure_and_table(text_trace):
    fid = Fidelity(step=1, row=0, positions=[3, 4, 5], tis=[0.3, 0.1, 0.2], delta=[0.5, 0.1, 0.3],
                   spearman=1.0, n_probes=2)
    fig = render.fidelity_figure(fid, text_trace)
    assert "ρ = +1.000" in fig.layout.title.text
    rows = render.fidelity_table(fid, text_trace)
    assert [r[0] for r in rows] == [3, 5, 4]
    nofid = render.fidelity_figure(Fidelity(0, 0, [], [], [], math.nan, 0))
    assert "no candidates" in nofid.layout.annotations[0].text


def test_bytelevel_tokens_decode():
    # GPT-2 style byte-level pieces: 'Ġ' is a leading space; 'Ã©' is the two bytes of 'é'.
    assert render.token_text("Ġthe", True) == " the"
    assert render.token_text("cafÃ©", True) == "café"
    assert render.token_text("[EOS]", True) == "[EOS]"

    class T:
        id_to_token = {0: "[MASK]", 1: "In", 2: "Ġthe", 3: "Ġbeg", 4: "inning", 5: "[EOS]"}
        mask_id = 0

    assert render.decode_text(T, [1, 2, 3, 4, 5]) == "In the beginning"
    assert render.decode_text(T, [1, 0]) == "In▢"


def test_compare_views(text_trace):
    from boe_core import diff

    b = text_trace.__class__.from_json(text_trace.to_json())
    b.meta = {**b.meta, "branched_from": {"step": 1, "policy": "boe"}}
    d = diff(text_trace, b)
    html = render.compare_summary_html(text_trace, b, d)
    assert "identical" in html and "branched at step 1" in html
    ring = render.text_canvas_html(text_trace, 1, highlight=[3])
    assert len(_classes(ring, "diverge")) == 1


def test_no_trace_placeholders():
    assert "No trace" in render.canvas_html(None, 0, task="sudoku")
    assert render.step_summary(None, 0)["num_steps"] == 0
    assert render.clamp_view(None, 3) == -1


def test_frontier_tab_reads_only_sweep_results():
    from app import frontier

    files = frontier.sweep_files()
    assert "sudoku_pareto.csv" in files
    fig, msg = frontier.frontier_plot("sudoku_pareto.csv")
    assert fig is not None and len(fig.data) >= 5 and "sudoku_pareto.csv" in msg
    fig, msg = frontier.frontier_plot("../README.md")
    assert fig is None and "sweep='../README.md'" in msg
