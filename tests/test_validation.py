"""Invalid settings are refused before any compute, naming the field and the value."""
import math

import pytest
import torch

from boe_core import ConfigError, DecodeConfig, generate


def _refused(tiny, field, **kw):
    kw.setdefault("gen_length", 8)
    with pytest.raises(ConfigError) as e:
        generate(tiny, kw.pop("prompt", "ab"), **kw)
    assert e.value.field == field, str(e.value)
    assert field in str(e.value)
    return str(e.value)


def test_block_length_must_divide(tiny):
    assert "must divide the generation length 8" in _refused(tiny, "block_length", block_length=3)


def test_too_few_steps_for_blocks(tiny):
    assert "4 blocks" in _refused(tiny, "steps", block_length=2, steps=3)


@pytest.mark.parametrize("policy", ["boe", "lookahead"])
def test_r_below_b_is_raised_to_b_and_noted(tiny, policy):
    """One rule everywhere (generate, the bench, the app): r < b is raised to b, and the step says so."""
    from boe_core import generate

    tr = generate(tiny, "ab", gen_length=8, steps=2, policy=policy, r=2)
    notes = [n for r in tr.records for n in r.notes]
    assert notes and all("r=2 < b=4: r raised to 4" == n for n in notes)
    assert all(int(r.candidates[0].sum()) == 4 for r in tr.records)


@pytest.mark.parametrize("rho", [0.0, 1.5, -0.1, math.nan])
def test_rho_range(tiny, rho):
    _refused(tiny, "rho", policy="boe", rho=rho)


@pytest.mark.parametrize("temperature", [-1.0, math.nan, math.inf, 1e6])
def test_temperature(tiny, temperature):
    _refused(tiny, "temperature", temperature=temperature)


def test_prompt_longer_than_context(tiny):
    msg = _refused(tiny, "prompt", prompt="a" * 60, gen_length=8)
    assert "context of 64" in msg


def test_unknown_policy_lists_known(tiny):
    msg = _refused(tiny, "policy", policy="greedy")
    for name in ("boe", "confidence", "lookahead", "margin", "entropy", "random"):
        assert name in msg


@pytest.mark.parametrize("field,value", [("steps", 0), ("steps", 2.5), ("seed", -1), ("gen_length", 0),
                                         ("linearize_at", "middle"), ("probe_scope", "all"),
                                         ("gamma", -1.0), ("tau_s", 0.0)])
def test_other_fields(tiny, field, value):
    _refused(tiny, field, **{field: value})


def test_model_without_mask_token():
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    from boe_core.models.hf_masked_lm import HFMaskedLMAdapter

    tk = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")))
    cfg = BertConfig(vocab_size=2, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    with pytest.raises(ConfigError, match="model=.*no mask token"):
        HFMaskedLMAdapter(BertForMaskedLM(cfg), tk)


def test_unknown_model_name():
    from boe_core import load_model

    with pytest.raises(ConfigError, match="model='nope'"):
        load_model("nope")


def test_no_mask_in_canvas(tiny):
    with pytest.raises(ConfigError, match="canvas"):
        generate(tiny, canvas=torch.tensor([[3, 4, 5]]))


def test_token_ids_out_of_range(tiny):
    with pytest.raises(ConfigError, match="canvas=999"):
        generate(tiny, canvas=torch.tensor([[999, tiny.mask_id]]))


def test_config_from_dict_rejects_unknown_field():
    with pytest.raises(ConfigError, match="config='bogus'"):
        DecodeConfig.from_dict({"bogus": 1})


def test_cli_reports_bad_setting(capsys):
    from boe_core.cli import main

    assert main(["generate", "--policy", "nope", "--prompt", "x"]) == 2
    assert "policy='nope'" in capsys.readouterr().err


def test_steps_are_a_budget_everywhere(tiny):
    """More steps than masked positions is a budget the run does not use up, in the library and in
    the explorer alike (the explorer no longer has a rule of its own): the loop ends when the
    canvas is full."""
    assert generate(tiny, "ab", gen_length=8, steps=12).num_steps == 8


def test_steps_range_is_the_configs_to_check():
    with pytest.raises(ConfigError, match=r"steps=1025: is too large \(max 1024\)"):
        DecodeConfig(steps=1025).validate()
    with pytest.raises(ConfigError, match="seed"):
        DecodeConfig(seed=2**63).validate()


def test_the_explorer_parses_and_the_config_validates():
    """The app turns UI strings into numbers and leaves every range to DecodeConfig.validate:
    the same message whichever door the value came through."""
    from app.session import build_config

    for steps in ("0", 2000):
        with pytest.raises(ConfigError) as via_app:
            build_config("confidence", steps, 0, 0.0, 0)
        with pytest.raises(ConfigError) as via_lib:
            DecodeConfig(steps=int(steps)).validate()
        assert str(via_app.value) == str(via_lib.value)
    with pytest.raises(ConfigError, match="steps='x'"):
        build_config("confidence", "x", 0, 0.0, 0)


def test_the_explorer_runs_a_budget_larger_than_the_canvas():
    from app import handlers
    from app.session import Session

    sess = Session()
    values = {"model": "sudoku", "policy": "confidence", "steps": 200, "block_length": 0, "temperature": 0.0,
              "seed": 0, "settings": None, "puzzle": "000070061140000007000041590051003000700090006009007000204700930300004800000005000"}
    assert handlers.prepare(sess, values)
    while handlers.advance(sess):
        pass
    assert sess.trace.num_steps == 54 and not (sess.trace.final_canvas == sess.trace.mask_id).any()
