"""Paired comparison of two decoders on the same problems: who solves what the other does not.

Two exact-match rates on the same problems are not independent samples, so their intervals
overlapping says little. The paired view counts the discordant problems (solved by one decoder
only) and tests them with the exact McNemar test: under "neither decoder is better" each
discordant problem is a fair coin, so the smaller count is Binomial(only_a + only_b, 1/2).
"""
from __future__ import annotations

from fractions import Fraction
from math import comb

import pandas as pd

from ..errors import ConfigError


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: P(a count at least this lopsided) for Binomial(n, 1/2),
    n = only_a + only_b, computed in exact rationals (1.0 when there is no discordant problem)."""
    for name, v in (("only_a", only_a), ("only_b", only_b)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ConfigError(name, v, "must be a non-negative integer count")
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    tail = Fraction(sum(comb(n, i) for i in range(k + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def paired_counts(a: pd.Series, b: pd.Series) -> dict:
    """Counts of two 0/1 outcome series indexed by problem id (the same ids in both):
    both, only_a, only_b, neither, and the exact McNemar p-value of only_a against only_b."""
    for name, s in (("a", a), ("b", b)):
        if s.index.has_duplicates:
            raise ConfigError(name, "<outcomes>", "has a problem id twice")
        if not s.isin([0, 1]).all():
            raise ConfigError(name, sorted(set(s.unique()) - {0, 1})[:3], "outcomes must be 0 or 1")
    if set(a.index) != set(b.index):
        raise ConfigError("problems", len(set(a.index) ^ set(b.index)),
                          "ids differ between the two decoders: a paired comparison needs the same problems")
    a, b = a.astype(bool), b.astype(bool).reindex(a.index)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    return {"n_paired": len(a), "both": int((a & b).sum()), "only_a": only_a, "only_b": only_b,
            "neither": int((~a & ~b).sum()), "mcnemar_p": mcnemar_exact_p(only_a, only_b)}


def paired_with_reference(examples: pd.DataFrame, key: str, reference_key: str,
                          metric: str = "exact_match") -> dict:
    """`paired_counts` of the cell `key` against the cell `reference_key`, from a sweep's
    per-example table (columns key, id and `metric`)."""
    def outcomes(k):
        d = examples[examples["key"] == k]
        if d.empty:
            raise ConfigError("key", k, "has no per-example rows")
        return d.set_index("id")[metric]

    return paired_counts(outcomes(key), outcomes(reference_key))
