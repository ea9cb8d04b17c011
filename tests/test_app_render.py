"""Unit tests of the explorer's pure render functions (records -> HTML / Plotly), no server.

Traces come from small random TinyMDMs built here (a 10-letter text model and a Sudoku-shaped
one), so these tests do not need the shipped models.
"""
import math
import re

import numpy as np
import pytest
import torch

from app import canvas, charts, compare, fidelity, overlays, status
from boe_core import TinyMDMAdapter, generate
from boe_core.fidelity import Fidelity
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
from boe_core.tasks.sudoku import load_examples, puzzle_to_canvas, sudoku_tokenizer, verify
from boe_core.tasks.token_text import decode_ids, token_text
from boe_core.tasks.views import get_view


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
    assert overlays.colour("greens", 0.0) == "#f4fbf2"
    assert overlays.colour("greens", 1.0) == "#006d2c"
    assert overlays.colour("greens", 2.0) == "#006d2c"  # clamped
    assert overlays.colour("greens", float("nan")) == "#ffffff"
    assert overlays.text_colour("#ffffff") == "#111827"
    assert overlays.text_colour("#000000") == "#ffffff"


def test_text_canvas_tells_states_apart(text_trace):
    tr = text_trace
    for k in range(tr.num_steps):
        html = canvas.canvas_html(tr, k)
        r = tr.records[k]
        assert len(_classes(html, "new")) == int(r.chosen[0].sum())
        assert len(_classes(html, "prompt")) == int(tr.fixed[0].sum())
        still = int(r.masked[0].sum() - r.chosen[0].sum())
        assert len(_classes(html, "mask")) == still
        earlier = int((~tr.fixed[0] & ~r.masked[0]).sum())
        assert len(_classes(html, "prev")) == earlier
    last = canvas.canvas_html(tr, tr.num_steps - 1)
    assert not _classes(last, "mask")


def test_hover_shows_top_proposals(text_trace):
    html = canvas.canvas_html(text_trace, 0)
    tips = re.findall(r'data-tip="([^"]*)"', html)
    masked_tips = [t for t in tips if "masked" in t or "this step" in t]
    assert masked_tips and all("top proposals" in t for t in masked_tips)
    assert any("%" in t for t in masked_tips)


def test_overlay_colours_only_masked_positions(text_trace):
    tr = text_trace
    none = canvas.canvas_html(tr, 1, "none")
    assert "background:" not in none
    for ov in ("confidence", "entropy", "tis", "grad_norm"):
        html = canvas.canvas_html(tr, 1, ov)
        n_coloured = html.count("background:#")
        field = overlays.overlays()[ov].name
        vals = getattr(tr.records[1], field)[0]
        assert n_coloured == int((np.isfinite(vals) & tr.records[1].masked[0]).sum())
        assert n_coloured > 0


def test_overlay_range(text_trace, conf_trace):
    lo, hi = overlays.overlay_range(text_trace, "tis")
    assert lo == -hi and hi > 0
    assert overlays.overlay_range(text_trace, "confidence") == (0.0, 1.0)
    assert overlays.overlay_range(conf_trace, "tis") == (-1.0, 1.0)  # not computed: a neutral range
    lo, hi = overlays.overlay_range(text_trace, "entropy")
    assert lo == 0 and hi > 0


def test_legend_has_key_and_colour_bar():
    html = canvas.legend_html("entropy", 0.0, 2.5, "sudoku")
    for text in ("clue", "earlier commit", "this step", "still masked", "breaks a rule", "differs from solution"):
        assert text in html
    assert "linear-gradient" in html and "2.5" in html
    assert "linear-gradient" not in canvas.legend_html("none", 0, 1)


def test_sudoku_grid_has_boxes_and_marks_errors(sudoku):
    tr, ex = sudoku
    k = tr.num_steps - 1
    html = canvas.canvas_html(tr, k, view="sudoku")
    assert len(re.findall(r'class="cell\b', html)) == 81
    assert len(_classes(html, "br")) == 18 and len(_classes(html, "bb")) == 18
    assert len(_classes(html, "clue")) == sum(ch != "0" for ch in ex["puzzle"])
    view = get_view("sudoku")
    grid = view.grid_at(tr, k)
    errs = view.errors(tr, k)
    rep = verify(grid, solution=ex["solution"])  # the view reports the rules' verdict, cell by cell
    assert set(errs["sol"]) == {i for v in rep.violations if v.kind == "differs_from_solution" for i in v.cells}
    assert set(errs["rule"]) == {i for v in rep.violations if v.kind.endswith("duplicate") for i in v.cells}
    assert len(_classes(html, "err-sol")) == len(errs["sol"])
    assert len(_classes(html, "err-rule")) == len(errs["rule"])


def test_sudoku_first_wrong_step(sudoku):
    tr, ex = sudoku
    fw = get_view("sudoku").first_wrong(tr)
    from boe_core.tasks.sudoku import first_error_step

    commits = [(np.flatnonzero(r.chosen[0]).tolist(), r.canvas_after[0, np.flatnonzero(r.chosen[0])].tolist())
               for r in tr.records]
    expected = first_error_step(commits, ex["solution"], ex["puzzle"])
    assert (fw is None and expected is None) or fw["step"] == expected


def test_status_and_summary(sudoku, text_trace):
    tr, _ = sudoku
    s = status.step_summary(tr, 2, "sudoku")
    assert s["step"] == 2 and s["num_steps"] == 6 and s["done"] is True
    assert len(s["canvas"]) == 81 and len(s["commits"]) == int(tr.records[2].chosen[0].sum())
    html = status.status_html(tr, 2, "sudoku")
    assert "step 2 / 5" in html
    st = status.step_summary(text_trace, 0, "text")
    assert st["canvas"].startswith("abc") and "commits" in st
    assert "no trace" in status.status_html(None, -1)


def test_heatmaps(text_trace, conf_trace):
    tr = text_trace
    fig = charts.heatmap_figure(tr, "entropy", 1)
    z = np.array(fig.data[0].z, dtype=float)
    s, e = charts.region(tr)
    assert z.shape == (tr.num_steps, e - s)
    assert len(fig.data[1].x) == sum(int(r.chosen[0].sum()) for r in tr.records)
    assert fig.layout.shapes and fig.layout.shapes[0].y0 == 0.5
    tis = charts.heatmap_figure(tr, "tis", 0)
    assert tis.data[0].zmid == 0
    empty = charts.heatmap_figure(conf_trace, "tis", 0)
    assert not empty.data and "not computed" in empty.layout.annotations[0].text
    assert not charts.heatmap_figure(None, "entropy").data


def test_entropy_curves(text_trace, conf_trace):
    fig = charts.entropy_figure([("a", text_trace), ("b", conf_trace)], 2, marks=[(1, "branch")])
    assert len(fig.data) == 2
    np.testing.assert_allclose(fig.data[0].y, text_trace.masked_entropy_curve()[:, 0], rtol=1e-6)
    assert len(fig.layout.shapes) == 2


def test_fidelity_figure_and_table(text_trace):
    fid = Fidelity(step=1, row=0, positions=[3, 4, 5], tis=[0.3, 0.1, 0.2], delta=[0.5, 0.1, 0.3],
                   spearman=1.0, n_probes=2)
    fig = fidelity.fidelity_figure(fid, text_trace)
    assert "ρ = +1.000" in fig.layout.title.text
    rows = fidelity.fidelity_table(fid, text_trace)
    assert [r[0] for r in rows] == [3, 5, 4]
    nofid = fidelity.fidelity_figure(Fidelity(0, 0, [], [], [], math.nan, 0))
    assert "no candidates" in nofid.layout.annotations[0].text


def test_bytelevel_tokens_decode():
    # GPT-2 style byte-level pieces: 'Ġ' is a leading space; 'Ã©' is the two bytes of 'é'.
    assert token_text("Ġthe", True) == " the"
    assert token_text("cafÃ©", True) == "café"
    assert token_text("[EOS]", True) == "[EOS]"

    class T:
        id_to_token = {0: "[MASK]", 1: "In", 2: "Ġthe", 3: "Ġbeg", 4: "inning", 5: "[EOS]"}
        mask_id = 0

    assert decode_ids(T.id_to_token, T.mask_id, [1, 2, 3, 4, 5]) == "In the beginning"
    assert decode_ids(T.id_to_token, T.mask_id, [1, 0]) == "In▢"


def test_compare_views(text_trace):
    from boe_core import diff

    b = text_trace.__class__.from_json(text_trace.to_json())
    b.meta = {**b.meta, "branched_from": {"step": 1, "policy": "boe"}}
    d = diff(text_trace, b)
    html = compare.compare_summary_html(text_trace, b, d)
    assert "identical" in html and "branched at step 1" in html
    ring = canvas.canvas_html(text_trace, 1, highlight=[3])
    assert len(_classes(ring, "diverge")) == 1


def test_no_trace_placeholders():
    assert "No trace" in canvas.canvas_html(None, 0, view="sudoku")
    assert status.step_summary(None, 0)["num_steps"] == 0
    assert canvas.clamp_view(None, 3) == -1
