"""A replaced token gets a defined commit confidence (boe_core.intervene.replacement_confidence):
its recorded probability when it is in the top-k of the step that committed the old token, else
the model's probability of it on the edited canvas with the cell masked. RCR, which ranks decoded
tokens by that confidence, then continues deterministically, as the counterfactual was measured,
and takes back a replacement the model finds unlikely."""
import numpy as np
import pytest
import torch

from boe_core import generate, intervene
from boe_core.counterfactuals import counterfactuals, runner_up
from boe_core.intervene import replacement_confidence
from boe_core.numerics import suppress


@pytest.fixture(scope="module")
def rcr_run(tiny):
    return generate(tiny, "ab", gen_length=12, steps=6, policy="rcr")


def _committed(tr, step):
    return int(np.flatnonzero(tr.records[step].chosen[0] & ~tr.fixed[0])[0])


def test_a_top_k_alternative_takes_its_recorded_probability(tiny, rcr_run):
    pos = _committed(rcr_run, 1)
    _, _, alt, q = runner_up(rcr_run, 1, pos)
    assert replacement_confidence(tiny, rcr_run, 2, {pos: alt}) == {pos: pytest.approx(q)}


def test_any_other_token_takes_the_models_probability_on_the_edited_canvas(tiny, rcr_run):
    pos = _committed(rcr_run, 1)
    r = rcr_run.records[1]
    listed = set(r.topk_ids[0, pos].tolist())
    tok = next(t for t in range(tiny.embedding_matrix().shape[0])
               if t not in listed and t != tiny.mask_id and t not in tiny.suppressed_ids)
    got = replacement_confidence(tiny, rcr_run, 2, {pos: tok})[pos]
    canvas = torch.as_tensor(rcr_run.records[2].canvas_before[:1].copy())
    canvas[0, pos] = tiny.mask_id
    with torch.no_grad():
        want = torch.softmax(suppress(tiny.logits(canvas)[0, pos], tiny.suppressed_ids), -1)[tok]
    assert got == pytest.approx(float(want), rel=1e-5) and 0.0 < got < 1.0


def test_rcr_continues_deterministically_and_as_the_counterfactual_was_measured(tiny, rcr_run):
    cf = counterfactuals(tiny, rcr_run)
    for j in range(cf.n):
        s, p = int(cf.steps[j]), int(cf.positions[j])
        if s + 1 >= rcr_run.num_steps:
            continue
        a = intervene(tiny, rcr_run, s + 1, {p: int(cf.alternatives[j])})
        b = intervene(tiny, rcr_run, s + 1, {p: int(cf.alternatives[j])})
        assert np.array_equal(a.final_canvas, b.final_canvas)
        assert np.array_equal(a.final_canvas[0], cf.finals[j]), (s, p)  # the Cascade tab opens what it measured


def test_rcr_takes_back_a_replacement_the_model_finds_unlikely(tiny, rcr_run):
    """With no confidence (NaN) RCR let a replacement stand for ever; with its probability it competes."""
    pos = _committed(rcr_run, 0)
    V = tiny.embedding_matrix().shape[0]
    cands = [t for t in range(V) if t != tiny.mask_id and t not in tiny.suppressed_ids]
    conf = {t: replacement_confidence(tiny, rcr_run, 1, {pos: t})[pos] for t in cands}
    worst = min(conf, key=conf.get)
    out = intervene(tiny, rcr_run, 1, {pos: worst})
    assert any(r.remasked[0, pos] for r in out.records[1:]), conf[worst]
