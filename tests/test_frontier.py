"""The frontier: families and budgets, the envelope and its owners, per-sequence cost, the command."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from boe_core.bench.cost import row_costs
from boe_core.bench.frontier import envelope_table, family_of, frontier_chart, main, owners


def test_family_and_budget_of_a_label():
    assert family_of("threshold:tau=0.9") == ("threshold", "tau=0.9")
    assert family_of("boe-adaptive:tau=0.7,veto=bottom") == ("boe-adaptive:veto=bottom", "tau=0.7")
    assert family_of("eb:gamma_eb=0.01") == ("eb", "gamma_eb=0.01")
    assert family_of("lookahead:r=4") == ("lookahead:r=4", "")


def _rows(points):
    return pd.DataFrame([dict(task="t", split="test", model="m", metric="exact_match", n=100, backward_cost=2.0,
                              policy=p, steps=s, quality=q, quality_lo=lo, quality_hi=hi, fwd_equiv=x)
                         for p, s, q, lo, hi, x in points])


def test_envelope_owners_and_significance():
    df = _rows([("confidence", 4, 0.50, 0.40, 0.60, 4.0),
                ("confidence", 8, 0.70, 0.60, 0.80, 8.0),
                ("threshold:tau=0.9", 16, 0.72, 0.62, 0.81, 3.0),   # better and cheaper than confidence@4, @8
                ("boe", 8, 0.90, 0.84, 0.95, 30.0),
                ("random", 8, 0.20, 0.12, 0.30, 8.0)])
    env = envelope_table(df)
    on = env[env["on_envelope"]]
    assert set(zip(on["family"], on["budget"])) == {("threshold", "tau=0.9"), ("boe", "steps=8")}
    assert owners(env) == [(3.0, 30.0, "threshold"), (30.0, float("inf"), "boe")]
    sig = dict(zip(env["policy"] + "@" + env["steps"].astype(str), env["significantly_below"]))
    assert sig["random@8"] == "confidence, threshold" and sig["confidence@8"] == ""
    assert frontier_chart(df) is not None


def test_a_sequence_pays_only_for_its_own_steps():
    rec = lambda masked, nf, nb, cand=None: SimpleNamespace(  # noqa: E731
        masked=np.array(masked), n_forward=nf, n_backward=nb,
        signals={} if cand is None else {"candidates": np.array(cand)})
    trace = SimpleNamespace(initial_canvas=np.zeros((2, 2)), records=[
        rec([[1, 1], [1, 0]], 2, 1, [[1, 0], [0, 0]]),  # only row 0 was checked (one extra forward, a backward)
        rec([[1, 0], [0, 0]], 1, 0),                     # row 1 is done
        rec([[1, 0], [0, 0]], 3, 0)])                    # extra forwards, no candidates signal: every active row
    fw, bw = row_costs(trace)
    assert fw.tolist() == [2 + 1 + 3, 1] and bw.tolist() == [1, 0]


@pytest.mark.slow  # about 15 s: two families on 4 countdown problems, the shipped reasoning model
def test_the_frontier_command_writes_tables_and_chart(tmp_path):
    assert main(["--tasks", "countdown", "--limit", "4", "--families", "confidence", "threshold",
                 "--out-dir", str(tmp_path), "--quiet"]) == 0
    df = pd.read_csv(tmp_path / "frontier_countdown.csv")
    assert len(df) == 8 and set(df["policy"]) == {"confidence", "threshold:tau=0.5", "threshold:tau=0.7",
                                                  "threshold:tau=0.9", "threshold:tau=0.99"}
    md = (tmp_path / "frontier.md").read_text()
    assert "Envelope owners" in md and (tmp_path / "frontier.png").is_file()


def test_the_frontier_tab_draws_a_frontier_file(tmp_path, monkeypatch):
    from app import frontier as tab

    df = _rows([("confidence", 4, 0.5, 0.4, 0.6, 4.0), ("threshold:tau=0.9", 16, 0.7, 0.6, 0.8, 3.0),
                ("boe", 8, 0.9, 0.84, 0.95, 30.0)])
    df.to_csv(tmp_path / "frontier_t.csv", index=False)
    monkeypatch.setattr(tab, "RESULTS", tmp_path)
    assert tab.sweep_files() == ["frontier_t.csv"]
    fig, msg = tab.frontier_plot("frontier_t.csv")
    assert {t.name for t in fig.data} == {"confidence", "threshold", "boe", "envelope"}
    assert "threshold from 3; boe from 30" in msg
    assert tab.frontier_plot("frontier_x.csv")[0] is None


def test_identical_points_are_marked_as_ties():
    df = _rows([("confidence", 4, 0.5, 0.4, 0.6, 4.0), ("boe", 4, 0.5, 0.4, 0.6, 4.0), ("boe", 8, 0.6, 0.5, 0.7, 20.0),
                ("threshold:tau=0.9", 80, 0.8, 0.7, 0.9, 5.0)])
    env = envelope_table(df)
    tie = env[(env["family"] == "boe") & (env["budget"] == "steps=4")].iloc[0]
    assert tie["on_envelope"] and tie["tied_with"] == "confidence"
    from boe_core.bench.frontier import markdown
    assert "No BoE-based point is on the envelope except in ties" in markdown(env, "t")
