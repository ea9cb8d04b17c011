"""KJV corpus, tokenizer and infilling-canvas tests (seconds; no training)."""
from __future__ import annotations

import random

import pytest
import torch

from boe_core.tasks import kjv
from boe_core.tokenization import MDMTokenizer


@pytest.fixture(scope="module")
def verses():
    return kjv.load_verses()


@pytest.fixture(scope="module")
def tok():
    assert MDMTokenizer.exists_in(kjv.MODEL_DIR), (
        f"the shipped KJV tokenizer is missing from {kjv.MODEL_DIR}: run scripts/train_kjv_tokenizer.py")
    return MDMTokenizer.load(kjv.MODEL_DIR)


# --- data and split ----------------------------------------------------------------------------
def test_split_sizes_and_disjoint(verses):
    refs = {s: {kjv.reference(v) for v in verses if v["split"] == s} for s in kjv.SPLITS}
    assert len(refs["val"]) == kjv.N_VAL and len(refs["test"]) == kjv.N_TEST
    assert len(refs["train"]) == len(verses) - kjv.N_VAL - kjv.N_TEST > 30_000
    assert not (refs["train"] & refs["val"]) and not (refs["train"] & refs["test"]) and not (refs["val"] & refs["test"])
    assert sum(len(r) for r in refs.values()) == len(verses)  # references are unique


def test_split_is_deterministic_and_matches_file(verses):
    refs = [kjv.reference(v) for v in verses]
    assert kjv.assign_splits(refs) == [v["split"] for v in verses]
    # depends on the references only, not on their order
    rev = kjv.assign_splits(refs[::-1])
    assert rev[::-1] == [v["split"] for v in verses]
    # and a different seed gives a different split
    assert kjv.assign_splits(refs, seed="other") != [v["split"] for v in verses]


def test_load_splits(verses):
    test = kjv.load_texts("test")
    assert len(test) == kjv.N_TEST and all(isinstance(t, str) and t == t.strip() and t for t in test)
    with pytest.raises(ValueError, match="split"):
        kjv.load_verses("dev")


# --- tokenizer ---------------------------------------------------------------------------------
def test_tokenizer_specials_and_size(tok):
    assert tok.vocab_size <= 4096
    ids = {tok.pad_id, tok.mask_id, tok.eos_id}
    assert None not in ids and len(ids) == 3
    assert tok.id_to_token(tok.mask_id) == "[MASK]"


def test_tokenizer_round_trips(tok, verses):
    rng = random.Random(0)
    sample = [v["text"] for v in rng.sample(verses, 300)]
    sample += ["In the beginning God created the heaven and the earth.",
               "  odd   spacing, [brackets] and digits 1611; ü — “quotes”\t",
               "Q: and the LORD said -- unto Moses?"]
    for text in sample:
        ids = tok.encode(text)
        assert tok.mask_id not in ids and tok.eos_id not in ids
        assert tok.decode(ids) == text


# --- infilling canvas --------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [0.05, 0.15, 0.5, 0.9, 1.0])
def test_make_infill_example_masks_exactly_a_span(tok, ratio):
    rng = random.Random(1)
    for text in kjv.load_texts("test")[:40]:
        canvas, fixed, target = kjv.make_infill_example(text, ratio, tok, rng)
        n_word = len(tok.encode(text))
        assert canvas.shape == fixed.shape == target.shape == (n_word + 1,)
        assert canvas.dtype == target.dtype == torch.long and fixed.dtype == torch.bool
        assert target[-1] == tok.eos_id and fixed[-1]  # trailing [EOS] given
        assert tok.decode(target.tolist()) == text
        span = (~fixed).nonzero().flatten()
        k = max(1, round(ratio * n_word))
        assert len(span) == min(k, n_word)
        assert torch.equal(span, torch.arange(int(span[0]), int(span[0]) + len(span)))  # contiguous
        assert torch.equal(canvas[fixed], target[fixed])  # non-span tokens kept
        assert bool((canvas[~fixed] == tok.mask_id).all())  # span masked
        assert int((canvas == tok.mask_id).sum()) == len(span)  # and nothing else


def test_make_infill_example_is_seeded(tok):
    text = kjv.load_texts("test")[0]
    a = kjv.make_infill_example(text, 0.3, tok, random.Random(5))
    b = kjv.make_infill_example(text, 0.3, tok, random.Random(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="ratio"):
        kjv.make_infill_example(text, 0.0, tok, random.Random(0))


def test_span_infill_scoring(tok):
    texts = kjv.load_texts("test")[:10]
    unfilled = kjv.span_infill(None, tok, texts, 0.3, random.Random(0), fill=lambda c, f: c)
    assert unfilled["exact_match"] == 0.0  # returning the masks unchanged is never right

    answers = {}  # canvas -> target, drawn with the same rng stream span_infill will use
    rng = random.Random(0)
    for t in texts:
        c, f, y = kjv.make_infill_example(t, 0.3, tok, rng)
        answers[tuple(c.tolist())] = y
    res = kjv.span_infill(None, tok, texts, 0.3, random.Random(0), fill=lambda c, f: answers[tuple(c.tolist())])
    assert res["exact_match"] == 1.0 and res["token_accuracy"] == 1.0


class _Knower(torch.nn.Module):
    """Knows the verses (one per batch row, in order): puts all its mass on each position's true
    token id plus `offset` (0: always right; 1: always wrong)."""

    def __init__(self, tok, texts, offset):
        super().__init__()
        self.config = type("C", (), {"max_length": 128})()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # where the inputs go
        self.truth = [kjv.encode_verse(t, tok) for t in texts]
        self.V, self.offset = tok.vocab_size, offset

    def forward(self, input_ids, key_padding_mask=None):
        B, L = input_ids.shape
        logits = torch.zeros(B, L, self.V)
        for r, ids in enumerate(self.truth[:B]):
            want = (torch.tensor(ids[:L]) + self.offset) % self.V
            logits[r, torch.arange(len(want)), want] = 1.0
        return logits


def test_masked_accuracy_and_sampler_infill_run(tok):
    from boe_core import generate, load_model
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig

    torch.manual_seed(0)
    model = TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=128, d_model=16, n_layers=1, n_heads=2)).eval()
    texts = kjv.load_texts("val")[:8]
    m = kjv.masked_token_accuracy(model, tok, texts, 0.5, random.Random(0))
    assert 0.0 <= m["accuracy"] <= 1.0 and m["n_verses"] == 8 and m["n_tokens"] > 0
    # the measure itself, on models that know every verse: always right 1.0, always wrong 0.0
    right = kjv.masked_token_accuracy(_Knower(tok, texts, 0), tok, texts, 0.5, random.Random(0))
    wrong = kjv.masked_token_accuracy(_Knower(tok, texts, 1), tok, texts, 0.5, random.Random(0))
    assert right["accuracy"] == 1.0 and wrong["accuracy"] == 0.0
    assert right["n_tokens"] == wrong["n_tokens"] == m["n_tokens"]  # a fresh Random(0) each: the same masks

    # span infilling goes through the project's sampler: the shipped model, one short example
    adapter = load_model("kjv")
    text = min(texts, key=len)
    c, f, y = kjv.make_infill_example(text, 0.3, adapter.tokenizer, random.Random(0))
    n = int((~f).sum())
    trace = generate(adapter, canvas=c[None], policy="confidence", steps=n, seed=0)
    out = torch.as_tensor(trace.final_canvas[0])
    assert torch.equal(out[f], c[f])
    assert not bool((out == adapter.mask_id).any())
    assert not set(out[~f].tolist()) & set(adapter.suppressed_ids)
    # span_infill's default fill is that same sampler run (policy confidence, one token per step)
    res = kjv.span_infill(adapter, adapter.tokenizer, [text], 0.3, random.Random(0))
    assert res["n_verses"] == 1 and res["examples"][0]["filled"] == adapter.tokenizer.decode(out[~f].tolist())
