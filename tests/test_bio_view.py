"""The explorer marks a bio answer's wrong facts by kind: the root, the cascade that follows from
it, and other wrong text, each with its own class and legend entry."""
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.canvas import canvas_html, legend_html
from boe_core import TinyMDMAdapter, generate
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
from boe_core.tasks import bio
from boe_core.tasks.reasoning import Check, get_task, reasoning_tokenizer
from boe_core.tasks.views import get_view


@pytest.fixture(scope="module")
def bio_model():
    tok = reasoning_tokenizer()
    torch.manual_seed(0)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=160, d_model=16, n_layers=1, n_heads=2, task="bio")
    return TinyMDMAdapter(TinyMDM(cfg), tok, name="bio-test")


def committed_trace(model, prompt, answer, order):
    """A trace of the bio view that commits `answer` one character per step in `order`."""
    view, tok, task = get_view("bio"), model.tokenizer, get_task("bio")
    plan = view.build_canvas(model, {"prompt": prompt})
    p_ids = plan.ids[0, :plan.ids.shape[1] - task.gen_length].tolist()
    final = np.array([p_ids + tok.encode(answer) + [tok.eos_id] * (task.gen_length - len(answer))])
    a0, n = len(p_ids), final.shape[1]
    canvas = final.copy()
    canvas[0, a0:] = tok.mask_id
    initial, records = canvas.copy(), []
    for step, j in enumerate(order):
        masked, chosen = canvas == tok.mask_id, np.zeros((1, n), bool)
        chosen[0, a0 + j] = True
        canvas = canvas.copy()
        canvas[0, a0 + j] = final[0, a0 + j]
        records.append(SimpleNamespace(step=step, chosen=chosen, canvas_after=canvas, masked=masked))
    return SimpleNamespace(initial_canvas=initial, fixed=initial != tok.mask_id, attention_mask=None,
                           mask_id=tok.mask_id, records=records, num_steps=len(records), final_canvas=canvas,
                           id_to_token={i: tok.id_to_token(i) for i in range(tok.vocab_size)}, meta=plan.meta), a0


def test_bio_run_marks_root_cascade_and_other_wrong(bio_model):
    name = next(p for p, f in bio.world().items() if f["born"] != "Rome" and f["country"] != "Italy")
    f = bio.world()[name]
    # a wrong birth city (root), the country of that city (cascade) and a misspelt employer (other)
    said = dict(f, born="Rome", country="Italy", employer=f["employer"][:-1] + "q")
    answer = bio.answer_text(said)
    view = get_view("bio")
    assert set(view.error_kinds) == {"root", "cascade", "sol"}
    order = list(range(get_task("bio").gen_length))
    trace, a0 = committed_trace(bio_model, "bi:" + name, answer, order)
    last = trace.num_steps - 1
    errs = view.errors(trace, last)
    span = lambda w: {a0 + answer.index(w) + i for i in range(len(w))}  # noqa: E731
    assert set(errs["root"]) == span("Rome") and set(errs["cascade"]) == span("Italy")
    assert set(errs["sol"]) == span(said["employer"])
    # step j commits answer character j: before "Rome" nothing wrong is committed; then only the root
    assert not any(view.errors(trace, answer.index("Rome") - 1).values())
    assert set(view.errors(trace, answer.index("Italy") - 1)["root"]) == span("Rome")
    assert not view.errors(trace, answer.index("Italy") - 1)["cascade"]
    facts = view.facts(trace, last)
    assert facts["root_cells"] == sorted(span("Rome")) and facts["cascade_cells"] == sorted(span("Italy"))
    assert facts["wrong_cells"] == sorted(span(said["employer"])) and not facts["solved"]
    fw = view.first_wrong(trace)  # the first wrong commit, and the first commit of a root fact
    assert fw["position"] == a0 + answer.index("Rome") and fw["root"]["position"] == fw["position"]
    late_root = list(range(answer.index("Rome"))) + [j for j in order if j >= answer.index(",")] + \
        list(range(answer.index("Rome"), answer.index(",")))  # "Rome" written after everything else
    trace2, _ = committed_trace(bio_model, "bi:" + name, answer, late_root)
    fw2 = view.first_wrong(trace2)
    assert fw2["position"] == a0 + answer.index("Italy") and fw2["root"]["position"] == a0 + answer.index("Rome")


def test_bio_canvas_draws_each_kind_with_its_class_and_legend(bio_model, monkeypatch):
    """A real (random-model) trace; the checker's verdict is pinned so that the drawing is what is tested."""
    view, task = get_view("bio"), get_task("bio")
    name = next(iter(bio.world()))
    plan = view.build_canvas(bio_model, {"prompt": "bi:" + name})
    trace = generate(bio_model, canvas=plan.ids, policy="confidence", steps=task.gen_length // 8, meta=plan.meta)
    a0 = plan.ids.shape[1] - task.gen_length
    kinds = ["root"] * 4 + ["cascade"] * 5 + ["wrong"] * 2 + ["right"] * (task.gen_length - 11)
    chk = Check(False, list(range(11)), "root: born 'Rome', expected 'Lima'", kinds=kinds)
    monkeypatch.setattr(view, "check_at", lambda tr, k: chk)
    last = trace.num_steps - 1
    html = canvas_html(trace, last, view=view)
    chips = {int(p): c for c, p in re.findall(r'<span class="tok ([^"]*)" data-pos="(\d+)"', html)}
    for j, kind in enumerate(kinds[:12]):
        cls = {"root": "err-root", "cascade": "err-cascade", "wrong": "err-sol"}.get(kind)
        for other in ("err-root", "err-cascade", "err-sol"):
            assert (other in chips[a0 + j].split()) == (other == cls), (j, chips[a0 + j])
    assert "cascade: wrong, but follows from an earlier wrong fact" in html
    legend = legend_html("none", 0.0, 1.0, view=view)
    for label in ("root: a wrong fact", "cascade: follows from a wrong fact", "other wrong text"):
        assert label in legend
    assert "lg-root" in legend and "lg-cascade" in legend


def test_other_reasoning_views_keep_one_error_kind():
    assert set(get_view("arith-cot").error_kinds) == {"sol"} and set(get_view("reasoning").error_kinds) == {"sol"}
