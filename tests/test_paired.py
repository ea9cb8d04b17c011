"""The paired comparison: discordant counts and the exact two-sided McNemar p-value."""
from __future__ import annotations

import pandas as pd
import pytest

from boe_core.bench import mcnemar_exact_p, paired_counts, paired_with_reference
from boe_core.errors import ConfigError


def test_mcnemar_exact_p_hand_cases():
    # 1 against 6 discordant: 2 * (C(7,0) + C(7,1)) / 2^7 = 2 * 8 / 128
    assert mcnemar_exact_p(1, 6) == pytest.approx(0.125, abs=1e-15)
    assert mcnemar_exact_p(6, 1) == mcnemar_exact_p(1, 6)
    assert mcnemar_exact_p(0, 5) == pytest.approx(2 / 32, abs=1e-15)
    # 2 against 10: 2 * (1 + 12 + 66) / 4096
    assert mcnemar_exact_p(2, 10) == pytest.approx(158 / 4096, abs=1e-15)
    assert mcnemar_exact_p(3, 3) == 1.0 and mcnemar_exact_p(0, 0) == 1.0 and mcnemar_exact_p(0, 1) == 1.0
    # large counts stay exact and finite (no float overflow of 2^n)
    assert 0 < mcnemar_exact_p(200, 300) < 1e-5


@pytest.mark.parametrize("a,b", [(-1, 2), (1.5, 2), (True, 1)])
def test_mcnemar_rejects_bad_counts(a, b):
    with pytest.raises(ConfigError, match="only_a"):
        mcnemar_exact_p(a, b)


def test_paired_counts_on_the_same_problems_in_any_order():
    a = pd.Series([1, 1, 0, 0, 1, 1], index=[0, 1, 2, 3, 4, 5])
    b = pd.Series([0, 1, 1, 0, 0, 1], index=[5, 1, 2, 3, 4, 0])  # same ids, shuffled
    c = paired_counts(a, b)
    # pairs by id: 0:(1,1) 1:(1,1) 2:(0,1) 3:(0,0) 4:(1,0) 5:(1,0)
    assert c == {"n_paired": 6, "both": 2, "only_a": 2, "only_b": 1, "neither": 1, "mcnemar_p": 1.0}


def test_paired_counts_need_the_same_problems_and_binary_outcomes():
    with pytest.raises(ConfigError, match="same problems"):
        paired_counts(pd.Series([1, 0], index=[0, 1]), pd.Series([1, 0], index=[0, 2]))
    with pytest.raises(ConfigError, match="0 or 1"):
        paired_counts(pd.Series([1, 0.5], index=[0, 1]), pd.Series([1, 0], index=[0, 1]))


def test_paired_counts_refuse_a_problem_counted_twice():
    once = pd.Series([1, 0, 1], index=[0, 1, 2])
    twice = pd.Series([1, 0, 1], index=[0, 1, 1])  # the same ids as a set: only the duplicate is wrong
    with pytest.raises(ConfigError, match="b=.*problem id twice"):
        paired_counts(once, twice)
    with pytest.raises(ConfigError, match="a=.*problem id twice"):
        paired_counts(twice, once)
    ex = pd.DataFrame({"key": ["p", "p", "c", "c"], "id": [0, 0, 0, 1], "exact_match": [1, 1, 0, 1]})
    with pytest.raises(ConfigError, match="problem id twice"):
        paired_with_reference(ex, "p", "c")


def test_paired_with_reference_reads_a_sweeps_examples():
    ex = pd.DataFrame({"key": ["p"] * 7 + ["c"] * 7, "id": list(range(7)) * 2,
                       "exact_match": [1, 1, 1, 1, 1, 1, 0] + [0, 0, 0, 0, 0, 1, 1]})
    c = paired_with_reference(ex, "p", "c")
    assert (c["only_a"], c["only_b"], c["both"], c["neither"]) == (5, 1, 1, 0)
    assert c["mcnemar_p"] == pytest.approx(2 * 7 / 64)
    with pytest.raises(ConfigError, match="key"):
        paired_with_reference(ex, "p", "missing")
