"""No decode depends on its batch: the same problems decoded in batches of 1, 7 and 50 (so with
different neighbours, batch sizes and left padding) end in the same canvases, for a deterministic
order (confidence), BoE, and the seeded random order, ReMDM's random remasking and Gumbel sampling
(each row draws from its own stream)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from boe_core import generate, load_model
from boe_core.bench import make_task, parse_specs
from boe_core.bench.runner import task_base_config
from boe_core.canvas import prompt_canvas
from boe_core.config import DecodeConfig
from boe_core.row_streams import row_seed

BATCHES = (1, 7, 50)


def _decode_rows(adapter, canvases, n, config, batch_size):
    """Each row's unpadded final canvas, decoding problems 0..n-1 `batch_size` at a time
    (`canvases(a, b)`: the (ids, attention_mask) of problems a..b-1)."""
    out, padded = [], False
    for i in range(0, n, batch_size):
        ids, am = canvases(i, min(i + batch_size, n))
        padded |= am is not None and not bool(am.all())
        final = torch.as_tensor(generate(adapter, canvas=ids, attention_mask=am, config=config).final_canvas)
        out += [tuple((row if am is None else row[am[j]]).tolist()) for j, row in enumerate(final)]
    return out, padded


@pytest.fixture(scope="module")
def countdown():
    task = make_task("countdown")
    adapter = load_model(task.rtask.model, device="cpu")
    examples = task.load("val", 50)
    return task, adapter, lambda a, b: task.canvas(adapter, examples[a:b])


@pytest.mark.slow  # the shipped model on 50 problems, three times
@pytest.mark.parametrize("spec,tokens_per_step", [("confidence", 8), ("random", 8), ("random:temperature=0.7", 8),
                                                   ("boe", 8), ("remdm:eta=0.2", 4)])
def test_shipped_reasoning_model_same_canvases_in_batches_of_1_7_50(countdown, spec, tokens_per_step):
    task, adapter, canvases = countdown
    config = parse_specs([spec])[0].config(steps=task.gen_length // tokens_per_step, seed=3,
                                           base=task_base_config(task))
    rows = {}
    for bs in BATCHES:
        rows[bs], padded = _decode_rows(adapter, canvases, 50, config, bs)
        assert padded == (bs > 1)  # countdown prompts differ in length: batches are left-padded
    if spec.startswith("remdm"):  # 4 steps leave ReMDM a window to remask in (2 steps do not)
        ids, am = canvases(0, 50)
        trace = generate(adapter, canvas=ids, attention_mask=am, config=config)
        assert sum(int(r.remasked.sum()) for r in trace.records) > 0
    assert len(rows[1]) == 50
    assert rows[7] == rows[1] and rows[50] == rows[1]


@pytest.fixture(scope="module")
def tiny_rope():
    """A random TinyMDM with rotary positions, as the shipped prompt models have (with learned
    absolute positions, left padding moves a prompt's positions, and the model sees another input)."""
    from boe_core.models.tiny_adapter import TinyMDMAdapter, char_tokenizer
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig

    tok = char_tokenizer(list("abcdefghij"), {"mask_token": "[MASK]", "pad_token": "[PAD]"})
    torch.manual_seed(0)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=64, d_model=32, n_layers=2, n_heads=2,
                        pos_encoding="rope")
    return TinyMDMAdapter(TinyMDM(cfg), tok, name="random-tiny-rope")


def test_tiny_model_sampling_same_canvases_in_any_batch(tiny_rope):
    """Gumbel proposals (temperature 1) with a confidence and a random order, ragged prompts."""
    tiny = tiny_rope
    prompts = ["abc", "d", "efghij", "ab", "jjj", "cab", "hh", "a", "bcdefg", "ii", "gf"]

    def canvases(a, b):
        return prompt_canvas(tiny, prompts[a:b], 8)

    # remdm's cap variant draws which tokens go back; at η = 0.5 from the first step it takes some back
    for policy, knobs in (("random", {}), ("confidence", {}), ("remdm", {"eta": 0.5, "start": 0.0})):
        config = DecodeConfig(policy=policy, steps=4, temperature=1.0, seed=5, settings=knobs)
        if knobs:
            ids, am = canvases(0, len(prompts))
            trace = generate(tiny, canvas=ids, attention_mask=am, config=config)
            assert sum(int(r.remasked.sum()) for r in trace.records) > 0
        one, _ = _decode_rows(tiny, canvases, len(prompts), config, 1)
        for bs in (3, 11):
            assert _decode_rows(tiny, canvases, len(prompts), config, bs)[0] == one
        other_seed, _ = _decode_rows(tiny, canvases, len(prompts), config.replace(seed=6), 11)
        assert other_seed != one  # the seed still matters


# the adaptive samplers (how many per step) and the revising ones (what goes back), each with knobs
# under which it does so on this random model: a count that varies, or remasks
# (gain: r = 4 of the 8 masks, so that some stay masked to be informed)
ADAPTIVE_AND_REVISING = [
    "threshold:tau=0.1", "eb:gamma_eb=4.0", "klass:tau=0.1,eps_kl=1.0,history=1", "boe-adaptive:tau=0.1",
    "boe-adaptive:base=eb,gamma_eb=4.0", "boe-adaptive:base=gain,gamma_eb=4.0,r=4", "rcr",
    "remdm:eta=0.5,start=0.0", "remdm:variant=confidence,eta=0.5,start=0.0",
    # a row that falls back (nothing left to probe) revises nothing, alone or beside steered rows
    "boe-revise:theta=0.0,r=4",
]


@pytest.mark.parametrize("spec", ADAPTIVE_AND_REVISING)
def test_adaptive_and_revising_policies_ignore_left_padding(tiny_rope, spec):
    """Ragged prompts, so a batch is left-padded: each row ends as it does alone (unpadded)."""
    prompts = ["abc", "d", "efghij", "ab"]

    def canvases(a, b):
        return prompt_canvas(tiny_rope, prompts[a:b], 8)

    config = parse_specs([spec])[0].config(steps=6, seed=1).replace(temperature=1.0)
    ids, am = canvases(0, len(prompts))
    trace = generate(tiny_rope, canvas=ids, attention_mask=am, config=config)
    if spec.split(":")[0] in ("rcr", "remdm", "boe-revise"):
        assert sum(int(r.remasked.sum()) for r in trace.records) > 0
    else:
        assert max(int(n) for r in trace.records[:-1] for n in r.n_commit) > 1
    alone, padded = _decode_rows(tiny_rope, canvases, len(prompts), config, 1)
    assert not padded
    together, padded = _decode_rows(tiny_rope, canvases, len(prompts), config, len(prompts))
    assert padded and together == alone


def test_row_seed_depends_on_seed_step_use_and_tokens():
    toks = np.arange(7)
    base = row_seed(0, 1, toks, "policy")
    assert base == row_seed(0, 1, toks.copy(), "policy")
    others = {row_seed(1, 1, toks, "policy"), row_seed(0, 2, toks, "policy"), row_seed(0, 1, toks, "proposals"),
              row_seed(0, 1, toks[1:], "policy")}
    assert base not in others and len(others) == 4
