"""The reasoning table's paired columns: each row against the reference policy on the same problems,
at the same tokens per step and at 1 token per step (`boe_core.bench.table`)."""
from __future__ import annotations

import pandas as pd
import pytest

from boe_core.bench.table import PAIR_COLUMNS, add_paired, paired_markdown

# outcomes on problems 0..5 of each cell (key: policy initial, tokens per step)
CELLS = {("confidence", 1.0, "c1"): [1, 1, 1, 1, 0, 0],
         ("confidence", 2.0, "c2"): [1, 1, 0, 0, 1, 0],
         ("boe", 2.0, "b2"): [1, 0, 1, 1, 1, 1],
         ("confidence", 4.0, "c4"): [0, 0, 0, 1, 1, 0],
         ("boe", 4.0, "b4"): [0, 0, 0, 1, 1, 0]}


def _tables(cells=CELLS):
    summary = pd.DataFrame([dict(task="t", policy=p, tokens_per_step=k, key=key, n=6, split="val",
                                 exact_match=sum(v) / 6, em_lo=0.1, em_hi=0.9, fwd_equiv=12.0 / k)
                            for (p, k, key), v in cells.items()])
    examples = pd.DataFrame([dict(key=key, id=i, exact_match=x) for (_, _, key), v in cells.items()
                             for i, x in enumerate(v)])
    return summary, examples


def test_add_paired_pairs_each_row_at_its_own_budget_and_at_one_per_step():
    summary, examples = _tables()
    out = add_paired(summary, examples, "confidence").set_index("key")
    assert list(out.columns[-len(PAIR_COLUMNS):]) == list(PAIR_COLUMNS)
    # boe@2 vs confidence@2: only boe solves 2, 3, 5; only confidence 1. McNemar 3 vs 1: 2 * 5 / 16
    assert out.loc["b2", ["only_policy", "only_ref", "mcnemar_p"]].tolist() == [3, 1, pytest.approx(0.625)]
    # vs confidence@1: only boe 4, 5; only confidence 1 -> p = min(1, 2 * 4 / 8)
    assert out.loc["b2", ["only_policy_vs_ref1", "only_ref1", "mcnemar_p_vs_ref1"]].tolist() == [2, 1, 1.0]
    assert out.loc["b4", ["only_policy", "only_ref", "mcnemar_p"]].tolist() == [0, 0, 1.0]  # the same problems
    assert out.loc["b4", ["only_policy_vs_ref1", "only_ref1", "mcnemar_p_vs_ref1"]].tolist() == [
        1, 3, pytest.approx(0.625)]
    # the reference's own rows: not against themselves, but against its 1-per-step cell
    assert out.loc["c2", ["only_policy", "only_ref", "mcnemar_p"]].isna().all()
    assert out.loc["c2", ["only_policy_vs_ref1", "only_ref1"]].tolist() == [1, 2]
    assert out.loc["c1", list(PAIR_COLUMNS)].isna().all()


def test_add_paired_without_a_one_per_step_cell_leaves_those_columns_empty():
    cells = {k: v for k, v in CELLS.items() if k[2] != "c1"}
    summary, examples = _tables(cells)
    out = add_paired(summary, examples, "confidence").set_index("key")
    assert out.loc["b2", "only_policy"] == 3 and out[list(PAIR_COLUMNS[3:])].isna().all().all()


def test_paired_markdown_writes_each_row_with_its_pairs():
    summary, examples = _tables()
    md = paired_markdown(add_paired(summary, examples, "confidence"), ["confidence", "boe"], "confidence")
    lines = md.splitlines()
    assert lines[0].startswith("**t** (6 val problems;") and "at 1 token per step" in lines[0]
    assert lines[2] == "| policy | tokens/step | exact match [95% CI] | fwd-equiv | vs confidence | vs confidence @1/step |"
    body = lines[4:]
    assert [ln.split(" | ")[0][2:] + "@" + ln.split(" | ")[1] for ln in body] == [
        "confidence@1", "confidence@2", "boe@2", "confidence@4", "boe@4"]  # by tokens per step, then policy order
    assert body[2] == "| boe | 2 | 0.833 [0.10, 0.90] | 6.0 | +3 / -1 (p=0.625) | +2 / -1 (p=1.000) |"
    assert body[0] == "| confidence | 1 | 0.667 [0.10, 0.90] | 12.0 |  |  |"
    # without a 1-per-step reference there is no last column
    cells = {k: v for k, v in CELLS.items() if k[2] != "c1"}
    summary, examples = _tables(cells)
    md = paired_markdown(add_paired(summary, examples, "confidence"), ["confidence", "boe"], "confidence")
    assert "@1/step" not in md and "| boe | 4 | 0.333 [0.10, 0.90] | 3.0 | +0 / -0 (p=1.000) |" in md


def test_small_p_values_are_written_in_two_significant_digits():
    from boe_core.bench.table import _p

    assert _p(0.000123) == "0.00012" and _p(0.0421) == "0.042" and _p(float("nan")) == ""
