"""The reasoning-text tasks in the bench (countdown, sudoku4, sudoku6, arith-cot), on a tiny random TinyMDM
over the reasoning tokenizer: registry, splits, canvases, scoring by the checker, a small sweep."""
from __future__ import annotations

import pytest
import torch

from boe_core.bench import TASKS, make_task, parse_specs, read_results, run_sweep, Sweep
from boe_core.bench.runner import task_base_config
from boe_core.errors import ConfigError
from boe_core.models import load_model

NAMES = ("countdown", "sudoku4", "sudoku6", "arith-cot")


@pytest.fixture(scope="module")
def reasoning_dir(tmp_path_factory):
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
    from boe_core.tasks.reasoning import reasoning_tokenizer

    path = tmp_path_factory.mktemp("tiny_reasoning")
    tok = reasoning_tokenizer()
    torch.manual_seed(0)
    TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=192, d_model=16, n_layers=1, n_heads=2,
                          task="reasoning", pos_encoding="rope")).save_pretrained(path)
    tok.save(path)
    return path


def test_registry_and_block_lengths():
    assert set(NAMES) <= set(TASKS)
    for n in NAMES:
        t = make_task(n)
        assert t.name == n and t.metric == "exact_match" and t.binary
        assert t.default_model == ("sudoku6" if n == "sudoku6" else "reasoning")
    # d1 blocks of 32: sudoku6's 48-character canvas and arith-cot's 56 need blocks (2 x 24, 2 x 28)
    assert [make_task(n).block_length for n in NAMES] == [None, None, 24, 28]
    assert task_base_config(make_task("arith-cot")).block_length == 28
    assert task_base_config(make_task("sudoku")).to_dict() == task_base_config(make_task("countdown")).to_dict()
    assert make_task("arith-cot", block_length=8).block_length == 8
    # a policy spec's block_length wins over the task's
    spec = parse_specs(["confidence:block_length=56"])[0]
    assert spec.config(28, base=task_base_config(make_task("arith-cot"))).block_length == 56


@pytest.mark.parametrize("name,kw,field", [("nope", {}, "task"), ("arith-cot", {"block_length": 30}, "block_length"),
                                           ("countdown", {"block_length": 0}, "block_length")])
def test_bad_task_settings_name_the_field(name, kw, field):
    with pytest.raises(ConfigError) as e:
        make_task(name, **kw)
    assert e.value.field == field


def test_splits_are_fixed_and_distinct():
    t = make_task("countdown")
    a, b = t.load("test", 5), t.load("test", 5)
    assert [e["prompt"] for e in a] == [e["prompt"] for e in b] and [e["id"] for e in a] == list(range(5))
    assert [e["prompt"] for e in a] != [e["prompt"] for e in t.load("val", 5)]
    assert all(e["prompt"].startswith("cd:") and e["prompt"].endswith(">") for e in a)
    with pytest.raises(ConfigError) as e:
        t.load("train", 5)
    assert e.value.field == "split"


@pytest.mark.parametrize("name", NAMES)
def test_canvas_layout_and_checker_scoring(reasoning_dir, name):
    adapter = load_model(str(reasoning_dir))
    task = make_task(name)
    ex = task.load("val", 4)
    ids, am = task.canvas(adapter, ex)
    G = task.gen_length
    assert bool((ids[:, -G:] == adapter.mask_id).all())  # the answer canvas: gen_length masks at the end
    assert not bool((ids[:, :-G] == adapter.mask_id).any())  # the prompt is fixed
    for k, e in enumerate(ex):
        real = ids[k, :-G] if am is None else ids[k, :-G][am[k, :-G]]
        assert adapter.decode(real.tolist()) == e["prompt"]
    # the reference answer (then [EOS] padding) scores 1 everywhere; a corrupted one scores 0
    tok = adapter.tokenizer
    gold = ids.clone()
    for k, e in enumerate(ex):
        a = tok.encode(e["reference"])
        gold[k, -G:] = torch.tensor(a + [tok.eos_id] * (G - len(a)))
    s = task.score(adapter, ex, gold.numpy())
    assert [r["exact_match"] for r in s] == [1.0] * 4 and [r["output"] for r in s] == [e["reference"] for e in ex]
    bad = gold.clone()
    bad[:, -G:] = tok.eos_id  # an empty answer
    s = task.score(adapter, ex, bad.numpy())
    assert [r["exact_match"] for r in s] == [0.0] * 4 and all(r["reason"] for r in s)


def test_left_padded_canvas_reads_like_training_layout(reasoning_dir):
    """With rotary positions, the bench's left-padded canvas gives the same answer logits as the
    right-padded training batch (reasoning.batch), so the bench measures the trained model."""
    from boe_core.tasks.reasoning import batch

    adapter = load_model(str(reasoning_dir), dtype="float64")
    task = make_task("arith-cot")
    ex = task.load("val", 3)
    ids, am = task.canvas(adapter, ex)
    G = task.gen_length
    r_ids, real, ans = batch(adapter.tokenizer, task.rtask, [e["example"] for e in ex], with_answer=False)
    with torch.no_grad():
        left = adapter.model(input_ids=ids, key_padding_mask=am)[:, -G:]
        right = adapter.model(input_ids=r_ids, key_padding_mask=real)
    for k in range(len(ex)):
        torch.testing.assert_close(left[k], right[k][ans[k]], rtol=1e-9, atol=1e-9)


def test_not_a_reasoning_model(tiny_sudoku_dir):
    task = make_task("countdown")
    with pytest.raises(ConfigError) as e:
        task.canvas(load_model(str(tiny_sudoku_dir)), task.load("val", 2))
    assert e.value.field == "model"


def test_sweep_runs_and_resumes(reasoning_dir, tmp_path):
    out = tmp_path / "r.csv"
    sw = Sweep(task=make_task("arith-cot"), model=str(reasoning_dir), specs=parse_specs(["confidence", "boe"]),
               budgets=[28, 14], split="val", limit=3, batch_size=2, out=out, backward_cost=2.0, progress=False)
    df = run_sweep(sw)
    assert len(df) == 4 and set(df["n"]) == {3} and df["quality"].between(0, 1).all()
    assert set(df["steps"]) == {28, 14} and (df.loc[df["policy"] == "boe", "backwards"] > 0).all()
    ex = __import__("pandas").read_parquet(out.with_name("r_examples.parquet"))
    assert {"output", "reference", "reason", "wrong_chars"} <= set(ex.columns) and len(ex) == 12
    created = list(read_results(out)["created"])
    run_sweep(sw)  # every cell is done: nothing reruns
    assert list(read_results(out)["created"]) == created
