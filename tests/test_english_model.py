"""The shipped `english` text model (a fine-tuned MiniLM BERT, docs/models.md) loads by name from
its folder alone (no package, no download) and writes words; the vocabulary pruning behind it keeps
tokenisation unchanged."""
import json

import pytest
import torch

from boe_core import generate, load_model, shipped_models
from boe_core.models.wordpiece_prune import kept_ids, prune_tokenizer_json


@pytest.fixture(scope="module")
def english():
    return load_model("english")


def test_english_is_shipped_as_a_bert_folder(english):
    assert "english" in shipped_models()
    assert type(english).__name__ == "HFMaskedLMAdapter"
    assert english.prefix_ids == [english.tokenizer.cls_token_id]
    assert english.suffix_ids == [english.tokenizer.sep_token_id]


def test_english_decodes_a_few_tokens(english):
    tr = generate(english, "and god said, let there be", gen_length=6, steps=6, policy="confidence")
    final = tr.final_canvas[0]
    assert (final != english.mask_id).all()
    text = english.decode(final)
    assert text.startswith("and god said, let there be")
    words = text.split()[6:]
    assert len(words) >= 3 and all(any(ch.isalpha() for ch in w) or w in ",.;:!?'\"" for w in words)


@torch.no_grad()
def test_english_fills_a_masked_word_from_its_context(english):
    ids = english.prefix_ids + english.encode("and the lord spake unto") + [english.mask_id] \
        + english.encode(", saying,") + english.suffix_ids
    logits = english.logits(torch.tensor([ids]))[0, ids.index(english.mask_id)]
    top3 = [english.decode([int(i)]) for i in logits.topk(3).indices]
    assert "moses" in top3, top3


def _toy_wordpiece(vocab_tokens):
    return {"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(vocab_tokens)}},
            "added_tokens": [{"id": i, "content": t, "special": True, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False} for i, t in enumerate(vocab_tokens) if t[0] == "["],
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": True},
            "pre_tokenizer": {"type": "BertPreTokenizer"}, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}},
                                          {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                               "pair": [], "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                                                              "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}},
            "truncation": {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0}, "padding": None, "version": "1.0"}


def test_pruning_keeps_used_pieces_and_tokenisation():
    from tokenizers import Tokenizer

    vocab = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]", "c", "a", "t", "s", "##a", "##t", "##s",
             "cat", "cats", "##ts", "dog", "xyz", "d", "##o", "##g"]
    full = _toy_wordpiece(vocab)
    tok = Tokenizer.from_str(json.dumps(full))
    used = {i for text in ["cat cats", "at"] for i in tok.encode(text, add_special_tokens=False).ids}
    keep = kept_ids(full["model"]["vocab"], used, ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"])
    small = prune_tokenizer_json(full, keep)
    names = list(small["model"]["vocab"])
    assert "dog" not in names and "xyz" not in names and "##ts" not in names  # unused
    assert {"cat", "cats", "a", "##t", "[MASK]"} <= set(names)
    assert list(small["model"]["vocab"].values()) == list(range(len(keep)))
    assert small["truncation"] is None
    pruned = Tokenizer.from_str(json.dumps(small))
    for text in ["cat cats", "at", "cats at cat"]:  # text made of kept pieces: unchanged
        assert [names[i] for i in pruned.encode(text, add_special_tokens=False).ids] == \
            [vocab[i] for i in tok.encode(text, add_special_tokens=False).ids]
    # an unused word falls back to the kept single characters, not [UNK]
    assert [names[i] for i in pruned.encode("dog", add_special_tokens=False).ids] == ["d", "##o", "##g"]
    assert pruned.encode("cat").ids[0] == names.index("[CLS]")


def test_pruning_rejects_a_missing_special_token():
    with pytest.raises(ValueError, match="special_tokens"):
        kept_ids({"a": 0}, [], ["[MASK]"])


def test_the_english_stories_name_known_presets_and_open():
    """tools/make_stories.py --model english: stories where confidence commits a phrase early and
    repeats it; each names presets the explorer knows and opens from the picker."""
    import html

    from app import stories
    from app.session import PRESETS
    from app.ui import on_story

    told = [s for s in stories.load_stories("english") if s["kind"] != stories.CASCADE]  # those: test_cascade_stories
    assert told, "assets/examples/stories_english.json has no stories"
    for s in told:
        assert s["kind"] == "confidence-collapse" and s["run_preset"] == "confidence"
        assert s["other_preset"] in PRESETS and s["facts"]["repeats"] >= 3
        assert s["facts"]["phrase"] in s["explanation"]
    out = on_story(told[0]["label"], "english")
    assert html.escape(told[0]["explanation"]) in out[-1]
