"""The adapter contract on locally built models: nothing is downloaded."""
import types

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from boe_core import generate
from boe_core.models.diffusion_llms import DreamAdapter, LLaDAAdapter
from boe_core.models.hf_masked_lm import HFMaskedLMAdapter

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghij")


def _hf_tokenizer():
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


@pytest.fixture(scope="module")
def bert():
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    return HFMaskedLMAdapter(BertForMaskedLM(cfg), _hf_tokenizer(), name="tiny-bert")


def test_hf_injection_matches_plain_forward(bert):
    ids = torch.tensor([[2, 5, 6, 4, 4, 3]])
    with torch.no_grad():
        direct = bert.model(input_ids=ids).logits
        via_hook = bert.logits(ids)
    torch.testing.assert_close(via_hook, direct)
    assert bert.mask_id == 4 and bert.pad_id == 0
    assert set(bert.suppressed_ids) >= {0, 1, 2, 3, 4}


def test_hf_masked_lm_decodes_with_boe(bert):
    tr = generate(bert, "a b c", gen_length=8, steps=4, policy="boe", r=4, use_aqa=True, aqa_max_active=1.0)
    final = tr.final_canvas[0]
    assert final[0] == 2 and final[-1] == 3  # [CLS] ... [SEP] kept
    assert final[1:4].tolist() == [5, 6, 7]
    assert (final != bert.mask_id).all()
    assert not set(final[4:-1].tolist()) & set(bert.suppressed_ids)
    rec = tr.records[0]
    assert not rec.fallback[0] and np.isfinite(rec.tis[0][rec.candidates[0]]).all()
    assert all(p.grad is None for p in bert.model.parameters())


def test_hf_padded_batch(bert):
    """BERT-style models with learned absolute positions get position ids from the attention mask,
    so a left-padded prompt decodes as it does alone."""
    tr = generate(bert, ["a b c d", "e"], gen_length=4, steps=2, policy="confidence")
    assert (tr.final_canvas[:, -5:-1] != bert.mask_id).all()
    am = tr.attention_mask[1]
    assert not am.all()  # "e" is the shorter prompt: left-padded
    alone = generate(bert, ["e"], gen_length=4, steps=2, policy="confidence")
    assert tr.final_canvas[1][am].tolist() == alone.final_canvas[0].tolist()


class StandIn(torch.nn.Module):
    """Same call shape as the LLaDA / Dream remote code: model(input_ids, attention_mask, ...).logits.
    The logits at position i are a function of the embedding at position i + `shift`."""

    def __init__(self, vocab=12, d=8, mask_token_id=11, shift=0):
        super().__init__()
        self.config = types.SimpleNamespace(mask_token_id=mask_token_id, max_position_embeddings=64)
        self.wte = torch.nn.Embedding(vocab, d)
        self.mix = torch.nn.Linear(d, d)
        self.out = torch.nn.Linear(d, vocab)
        self.shift = shift
        self.calls = []

    def get_input_embeddings(self):
        return self.wte

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        self.calls.append({"attention_mask": attention_mask, "position_ids": position_ids})
        x = self.wte(input_ids)
        x = x + torch.tanh(self.mix(x.mean(1, keepdim=True)))  # bidirectional mixing
        x = torch.roll(x, -self.shift, dims=1)  # Dream-like: position i describes token i+1
        return types.SimpleNamespace(logits=self.out(x))


def _tok():
    t = types.SimpleNamespace(mask_token_id=None, pad_token_id=0, eos_token_id=1, unk_token_id=None,
                              all_special_ids=[0, 1])
    t.encode = lambda s, add_special_tokens=False: [2 + (ord(c) % 8) for c in s]
    t.decode = lambda ids, skip_special_tokens=True: " ".join(map(str, ids))
    t.convert_ids_to_tokens = lambda i: f"t{i}"
    t.convert_tokens_to_ids = lambda s: None
    return t


def test_llada_adapter_contract():
    torch.manual_seed(0)
    m = StandIn()
    a = LLaDAAdapter(m, _tok(), dtype=torch.float32)
    assert a.mask_id == 11  # read from the config, not hard-coded
    ids = torch.tensor([[2, 3, 11, 11, 11]])
    with torch.no_grad():
        torch.testing.assert_close(a.logits(ids), m(ids).logits)
        e = a.embed(ids) + 0.5
        # soft embeddings really enter the model through the hook
        assert not torch.allclose(a.hidden(e), a.hidden(a.embed(ids)))
    tr = generate(a, canvas=ids, steps=3, policy="boe", r=2)
    assert (tr.final_canvas != 11).all() and tr.final_canvas[0, :2].tolist() == [2, 3]
    assert all(p.grad is None for p in m.parameters())


def test_dream_adapter_shifts_logits():
    torch.manual_seed(0)
    m = StandIn(shift=1)
    a = DreamAdapter(m, _tok(), dtype=torch.float32)
    ids = torch.tensor([[2, 3, 11, 11, 11]])
    with torch.no_grad():
        raw = m(ids).logits
        aligned = a.logits(ids)
    torch.testing.assert_close(aligned[:, 1:], raw[:, :-1])  # row i now describes token i
    assert m.calls[-1]["attention_mask"] == "full"
    # padded batch: a 4-D bidirectional mask and positions that skip the padding
    am = torch.tensor([[False, True, True, True, True]])
    with torch.no_grad():
        a.hidden(a.embed(ids), am)
    call = m.calls[-1]
    assert call["attention_mask"].shape == (1, 1, 5, 5)
    assert call["position_ids"][0].tolist() == [0, 0, 1, 2, 3]


def test_dream_without_mask_token_is_refused():
    from boe_core import ConfigError

    m = StandIn(mask_token_id=None)
    with pytest.raises(ConfigError, match="no mask token"):
        DreamAdapter(m, _tok(), dtype=torch.float32)


def test_hf_aqa_attention_interface(bert):
    """BERT runs ActiveQueryAttention through transformers' attention interface: the forward is
    unchanged and the gradient keeps only active query rows."""
    from boe_core.models import hf_aqa

    assert bert.supports_active_rows
    ids = torch.tensor([[2, 5, 6, 4, 4, 4, 3], [2, 7, 4, 4, 4, 3, 0]])
    am = ids != 0
    with torch.no_grad():
        dense = bert.hidden(bert.embed(ids), am, None)
        sparse = bert.hidden(bert.embed(ids), am, ids == 4)
    torch.testing.assert_close(sparse[am], dense[am], atol=1e-5, rtol=1e-5)
    with torch.enable_grad():
        e = bert.embed(ids).detach().requires_grad_(True)
        active = torch.zeros_like(am)
        active[:, 3] = True
        out = bert.hidden(e, am, active)
        out[:, 3].sum().backward()
    g_sparse = e.grad.clone()
    with torch.enable_grad():
        e2 = bert.embed(ids).detach().requires_grad_(True)
        bert.hidden(e2, am, torch.ones_like(am))[:, 3].sum().backward()
    with torch.enable_grad():
        e3 = bert.embed(ids).detach().requires_grad_(True)
        bert.hidden(e3, am, None)[:, 3].sum().backward()
    # every row active = the dense graph; one active row still reaches every input through
    # keys and values, but drops the other rows' query paths
    torch.testing.assert_close(e2.grad, e3.grad, atol=1e-5, rtol=1e-4)
    assert torch.isfinite(g_sparse).all() and g_sparse.abs().sum() > 0
    assert not torch.allclose(g_sparse, e3.grad)
