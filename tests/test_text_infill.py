"""The text-infill bench (boe_core.bench.text_infill) on a tiny model: scores, pairing, resumable output."""
import json

import numpy as np
import pytest

from boe_core import ConfigError
from boe_core.bench import text_infill as ti


def _rows(tiny, n=4):
    rows = []
    for i in range(n):
        ids = tiny.encode("abcdefghij"[i:] + "abcdefghij"[:i])
        rows.append({"id": f"{'kjv' if i % 2 else 'austen'}:{i}", "canvas": ids, "masked": [2, 3, 4, 7]})
    return rows


def test_decode_rows_scores_only_the_masked_tokens(tiny):
    rows = _rows(tiny)
    res = ti.decode_rows(tiny, rows, "confidence", {}, steps=2, seed=0, batch_size=3)
    assert len(res["accuracy"]) == 4 and all(0 <= a <= 1 for a in res["accuracy"])
    for r, got, acc in zip(rows, res["span_tokens"], res["accuracy"]):
        want = [r["canvas"][p] for p in r["masked"]]
        assert len(got) == 4 and acc == pytest.approx(np.mean([g == w for g, w in zip(got, want)]))
    assert res["forwards_per_batch"] == 2  # two batches (3 + 1 rows), 2 steps each


def test_summary_pairs_with_confidence():
    ids = ["kjv:0", "kjv:1", "austen:0", "austen:1"]
    base = {"forwards_per_batch": 6, "backwards_per_batch": 0, "seconds": 1.0, "policy": "confidence", "overrides": {}}
    cands = {"confidence": {**base, "accuracy": [0.5, 0.5, 0.0, 1.0], "span_tokens": [[1], [2], [3], [4]]},
             "BoE default": {**base, "policy": "boe", "accuracy": [1.0, 0.5, 0.0, 0.5],
                             "span_tokens": [[9], [2], [3], [8]]}}
    table = {r["label"]: r for r in ti.summarise(cands, ids)}
    b = table["BoE default"]
    assert (b["wins"], b["losses"], b["ties"], b["rows_differing"]) == (1, 1, 2, 2)
    assert b["mean"] == pytest.approx(0.5) and b["mean_diff"] == pytest.approx(0.0)
    assert table["confidence"]["mean_kjv"] == pytest.approx(0.5)
    lo, hi = ti.bootstrap_ci([0.0, 1.0] * 50)
    assert 0.35 < lo < 0.5 < hi < 0.65
    assert "| BoE default | 4 |" in ti.markdown(list(table.values()))


def test_dump_round_trips():
    doc = {"protocol": {"a": 1}, "table": [{"x": 1}], "candidates": {"c": {"accuracy": [0.5, 1.0]}, "d": {}}}
    assert json.loads(ti.dump(doc)) == doc


def test_bad_options_are_refused(tiny):
    with pytest.raises(ConfigError, match="mask"):
        ti.infill_rows(tiny, ["kjv"], "val", 1, 40, 0.3, 0, mask="stripes")
    with pytest.raises(ConfigError, match="split"):
        ti.infill_rows(tiny, ["kjv"], "train", 1, 40, 0.3, 0)
    with pytest.raises(ConfigError, match="ratio"):
        ti.infill_rows(tiny, ["kjv"], "val", 1, 40, 1.5, 0)
    assert ti.main(["--model", "kjv", "--only", "nope", "--out", "/dev/null"]) == 2
