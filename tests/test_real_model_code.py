"""The adapters against real modelling code, on tiny random configs (nothing is downloaded).

* ModernBERT comes with transformers: always runs.
* LLaDA and Dream ship their code with their weights. Put their public modelling files under
  a folder and point $BOE_REAL_MODEL_CODE at it (any layout: modeling_llada.py +
  configuration_llada.py, modeling_dream.py + configuration_dream.py + generation_utils.py are
  found recursively). Never commit those files. docs/real-models.md says where ours came from.
Compatibility shims for transformers 5.x live here, never in their files.
"""
from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from boe_core import generate
from boe_core.models.diffusion_llms import DreamAdapter, LLaDAAdapter
from boe_core.models.hf_masked_lm import HFMaskedLMAdapter

ENV = "BOE_REAL_MODEL_CODE"
WORDS = ["<|endoftext|>", "<|mdm_mask|>", "<|mask|>", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnop")
ENDOFTEXT, LLADA_MASK, DREAM_MASK = 0, 1, 2


def _tokenizer(**special):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", **special)


# --- loading their code ---------------------------------------------------------------------
def _find(filename):
    root = os.environ.get(ENV)
    if not root:
        pytest.skip(f"${ENV} is not set: point it at a folder holding {filename} (see docs/real-models.md)")
    hits = sorted(Path(root).rglob(filename))
    if not hits:
        pytest.skip(f"no {filename} under ${ENV}={root}")
    return hits[0]


def _import(modeling_file: Path, package: str):
    """Import their modeling file as `package.<module>` so relative imports work; its folder also
    goes on sys.path for copies that use absolute ones (`from configuration_dream import ...`)."""
    folder = str(modeling_file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    if package not in sys.modules:
        pkg = types.ModuleType(package)
        pkg.__path__ = [folder]
        sys.modules[package] = pkg
    return importlib.import_module(f"{package}.{modeling_file.stem}")


def _shim_default_rope():
    """transformers 5 dropped ROPE_INIT_FUNCTIONS['default'], which Dream's rotary module asks for."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    def default_rope(config, device=None, **_):
        dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        exponents = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float32) / dim
        return 1.0 / (config.rope_theta ** exponents), 1.0

    ROPE_INIT_FUNCTIONS.setdefault("default", default_rope)


@pytest.fixture(scope="module")
def llada_cls():
    mod = _import(_find("modeling_llada.py"), "boe_real_llada")

    def build(mask_token_id=LLADA_MASK, n_kv_heads=4, seed=0):
        torch.manual_seed(seed)
        cfg = mod.LLaDAConfig(d_model=32, n_heads=4, n_kv_heads=n_kv_heads, n_layers=2, mlp_hidden_size=64,
                              vocab_size=len(WORDS), embedding_size=len(WORDS), max_sequence_length=64,
                              mask_token_id=mask_token_id, pad_token_id=ENDOFTEXT, eos_token_id=ENDOFTEXT,
                              rope=True, block_type="llama", layer_norm_type="rms", activation_type="silu",
                              init_device="cpu", weight_tying=False, alibi=False, flash_attention=False)
        cfg.use_cache = False  # shim: transformers 5 no longer keeps use_cache on the config
        return mod.LLaDAModelLM(cfg, init_params=True)
    return build


@pytest.fixture(scope="module")
def dream_cls():
    mod = _import(_find("modeling_dream.py"), "boe_real_dream")
    _shim_default_rope()

    def build(seed=0):
        torch.manual_seed(seed)
        cfg = mod.DreamConfig(vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                              mask_token_id=DREAM_MASK, pad_token_id=ENDOFTEXT, bos_token_id=ENDOFTEXT,
                              eos_token_id=ENDOFTEXT)
        return mod.DreamModel(cfg)
    return build


def _llada_tok():  # the real LLaDA tokenizer has no mask_token; pad = eos = <|endoftext|>
    return _tokenizer(pad_token="<|endoftext|>", eos_token="<|endoftext|>")


def _dream_tok():
    return _tokenizer(pad_token="<|endoftext|>", eos_token="<|endoftext|>", mask_token="<|mask|>")


def _check_boe(adapter, canvas):
    """One commit per step and three candidates, so BoE really steers (no confidence fallback)."""
    tr = generate(adapter, canvas=canvas, steps=int((canvas == adapter.mask_id).sum()), policy="boe", r=3)
    assert (tr.final_canvas != adapter.mask_id).all()
    keep = canvas != adapter.mask_id
    assert (tr.final_canvas[keep] == canvas.numpy()[keep.numpy()]).all()
    rec = tr.records[0]
    assert not rec.fallback[0] and np.isfinite(rec.tis[0][rec.candidates[0]]).all()
    assert all(p.grad is None and not p.requires_grad for p in adapter.model.parameters())
    return tr


def _grads(adapter, ids, am, active, row):
    e = adapter.embed(ids).detach().requires_grad_(True)
    with torch.enable_grad():
        adapter.hidden(e, am, active)[:, row].float().pow(2).sum().backward()
    return e.grad


# --- LLaDA ----------------------------------------------------------------------------------
def test_llada_mask_id_from_config_then_token_name(llada_cls):
    assert LLaDAAdapter(llada_cls(), _llada_tok(), dtype=torch.float32).mask_id == LLADA_MASK
    # no id in the config: the adapter looks the named token <|mdm_mask|> up in the tokenizer
    m = llada_cls()
    m.config.mask_token_id = None
    a = LLaDAAdapter(m, _llada_tok(), dtype=torch.float32)
    assert a.mask_id == LLADA_MASK
    # pad = eos = <|endoftext|>: it ends answers, so it must stay proposable
    assert a.pad_id == a.eos_id == ENDOFTEXT and ENDOFTEXT not in a.suppressed_ids


def test_llada_embedding_hook_equals_their_forward(llada_cls):
    a = LLaDAAdapter(llada_cls(), _llada_tok(), dtype=torch.float32)
    ids = torch.tensor([[7, 8, 1, 1, 9, 1]])
    with torch.no_grad():
        torch.testing.assert_close(a.logits(ids), a.model(input_ids=ids).logits)
        e = a.embed(ids) + 0.1 * torch.randn(1, 6, 32, generator=torch.Generator().manual_seed(0))
        # soft embeddings through the hook = their own inputs_embeds argument
        torch.testing.assert_close(a.hidden(e), a.model(inputs_embeds=e).logits)
        assert not torch.allclose(a.hidden(e), a.hidden(a.embed(ids)))


def test_llada_boe_and_padded_batch(llada_cls):
    a = LLaDAAdapter(llada_cls(), _llada_tok(), dtype=torch.float32)
    _check_boe(a, torch.tensor([[7, 8, 9, 1, 1, 1, 1]]))
    tr = generate(a, ["a b c d", "e"], gen_length=4, steps=2, policy="boe", r=2)
    assert (tr.final_canvas != a.mask_id).all()


@pytest.mark.parametrize("n_kv_heads", [4, 2])
def test_llada_aqa_through_their_attention(llada_cls, monkeypatch, n_kv_heads):
    """AQA replaces each block's _scaled_dot_product_attention on the instance (their file is
    untouched): forward unchanged, all-active gradient = dense, fewer rows = a different one."""
    import kernels

    a = LLaDAAdapter(llada_cls(n_kv_heads=n_kv_heads), _llada_tok(), dtype=torch.float32)
    assert a.supports_active_rows
    calls = []
    real = kernels.active_query_attention
    monkeypatch.setattr(kernels, "active_query_attention", lambda *x, **k: calls.append(1) or real(*x, **k))
    ids = torch.tensor([[7, 8, 1, 1, 9, 1], [10, 1, 1, 11, 1, 1]])
    active = ids == LLADA_MASK
    with torch.no_grad():
        torch.testing.assert_close(a.hidden(a.embed(ids), None, active), a.hidden(a.embed(ids)))
    assert len(calls) == 2  # one per block
    dense = _grads(a, ids, None, None, 2)
    torch.testing.assert_close(_grads(a, ids, None, torch.ones_like(active), 2), dense, atol=1e-5, rtol=1e-4)
    sparse = _grads(a, ids, None, active, 2)
    assert torch.isfinite(sparse).all() and not torch.allclose(sparse, dense)
    tr = generate(a, canvas=ids[:1], steps=2, policy="boe", r=2, use_aqa=True, aqa_max_active=1.0)
    assert (tr.final_canvas != a.mask_id).all()


# --- Dream ----------------------------------------------------------------------------------
def test_dream_mask_id_shift_and_hook(dream_cls):
    m = dream_cls()
    a = DreamAdapter(m, _dream_tok(), dtype=torch.float32)
    assert a.mask_id == DREAM_MASK and ENDOFTEXT not in a.suppressed_ids
    assert not a.supports_active_rows  # Dream calls F.scaled_dot_product_attention itself
    ids = torch.tensor([[7, 8, 2, 2, 9, 2]])
    with torch.no_grad():
        raw = m(input_ids=ids, attention_mask="full").logits
        aligned = a.logits(ids)
    torch.testing.assert_close(aligned[:, 1:], raw[:, :-1])  # row i now describes token i
    torch.testing.assert_close(aligned[:, 0], raw[:, 0])


def test_dream_padded_batch_equals_unpadded(dream_cls):
    """Left padding: the 4-D bidirectional mask and positions that skip the padding make a padded
    item's logits equal its unpadded run."""
    a = DreamAdapter(dream_cls(), _dream_tok(), dtype=torch.float32)
    short = torch.tensor([[10, 2, 2, 11]])
    batch = torch.tensor([[7, 8, 2, 2, 9, 2], [0, 0, 10, 2, 2, 11]])
    am = batch != ENDOFTEXT
    with torch.no_grad():
        padded = a.logits(batch, am)
        alone = a.logits(short)
    assert torch.isfinite(padded[am]).all()
    torch.testing.assert_close(padded[1, 2:], alone[0], atol=1e-5, rtol=1e-5)


def test_dream_boe_and_padded_batch(dream_cls):
    a = DreamAdapter(dream_cls(), _dream_tok(), dtype=torch.float32)
    _check_boe(a, torch.tensor([[7, 8, 9, 2, 2, 2, 2]]))
    tr = generate(a, ["a b c d", "e"], gen_length=4, steps=2, policy="boe", r=2)
    assert (tr.final_canvas != a.mask_id).all()


# --- ModernBERT (in transformers: always runs) -----------------------------------------------
@pytest.fixture(scope="module")
def modernbert():
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    torch.manual_seed(0)
    cfg = ModernBertConfig(vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                           num_attention_heads=4, max_position_embeddings=64, local_attention=4,
                           global_attn_every_n_layers=3, pad_token_id=ENDOFTEXT, bos_token_id=4, eos_token_id=5,
                           cls_token_id=4, sep_token_id=5, mask_token_id=6)
    tok = _tokenizer(pad_token="<|endoftext|>", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    return HFMaskedLMAdapter(ModernBertForMaskedLM(cfg), tok, name="tiny-modernbert")


def test_modernbert_adapter_and_aqa(modernbert):
    a = modernbert
    assert a.mask_id == 6 and a.prefix_ids == [4] and a.suffix_ids == [5] and a.supports_active_rows
    ids = torch.tensor([[4, 7, 8, 6, 6, 6, 9, 6, 5], [4, 10, 6, 6, 5, 0, 0, 0, 0]])
    am = ids != ENDOFTEXT
    with torch.no_grad():
        torch.testing.assert_close(a.logits(ids[:1]), a.model(input_ids=ids[:1]).logits)
        dense = a.hidden(a.embed(ids), am, None)
        torch.testing.assert_close(a.hidden(a.embed(ids), am, ids == 6)[am], dense[am], atol=1e-5, rtol=1e-5)
    g_dense = _grads(a, ids, am, None, 3)
    torch.testing.assert_close(_grads(a, ids, am, am.clone(), 3)[am], g_dense[am], atol=1e-5, rtol=1e-4)
    g_sparse = _grads(a, ids, am, ids == 6, 3)
    assert torch.isfinite(g_sparse).all() and not torch.allclose(g_sparse, g_dense)


def test_modernbert_decodes_with_boe(modernbert):
    tr = generate(modernbert, "a b c", gen_length=6, steps=3, policy="boe", r=3, use_aqa=True, aqa_max_active=1.0)
    final = tr.final_canvas[0]
    assert final[0] == 4 and final[-1] == 5 and (final != modernbert.mask_id).all()
    tr = generate(modernbert, ["a b c d", "e"], gen_length=4, steps=2, policy="boe", r=2)
    assert (tr.final_canvas[:, -5:-1] != modernbert.mask_id).all()
