"""The frontier: families and budgets, the envelope and its owners, per-sequence cost, the command."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from boe_core.bench.cost import row_costs
from boe_core.bench.frontier import envelope_table, family_of, frontier_chart, main, owners, summary_markdown


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
    fig = frontier_chart(df)
    env_trace = [t for t in fig.data if t.name == "envelope"]
    assert len(env_trace) == 1  # the black steps through the envelope points, left to right
    assert list(env_trace[0].x) == [3.0, 30.0] and list(env_trace[0].y) == [0.72, 0.90]
    assert list(env_trace[0].text) == ["threshold", "boe"]
    assert {t.name for t in fig.data} == {"confidence", "threshold", "boe", "random", "envelope"}


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
    df = pd.read_csv(tmp_path / "countdown" / "frontier_test.csv")  # the task's own folder
    assert len(df) == 8 and set(df["policy"]) == {"confidence", "threshold:tau=0.5", "threshold:tau=0.7",
                                                  "threshold:tau=0.9", "threshold:tau=0.99"}
    md = (tmp_path / "studies" / "frontier_test.md").read_text()  # over the tasks: a study
    assert "Envelope owners" in md and (tmp_path / "studies" / "frontier_test.png").is_file()


def _write(path, df, created):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.assign(created=created).to_csv(path, index=False)


def test_the_frontier_tab_draws_a_frontier_file(tmp_path, monkeypatch):
    from app import frontier as tab

    df = _rows([("confidence", 4, 0.5, 0.4, 0.6, 4.0), ("threshold:tau=0.9", 16, 0.7, 0.6, 0.8, 3.0),
                ("boe", 8, 0.9, 0.84, 0.95, 30.0)])
    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path))  # the configured folder, read when the tab asks
    _write(tmp_path / "t" / "frontier_test.csv", df, "2026-01-01T00:00:00")
    assert tab.sweep_files() == ["t/frontier_test.csv"]
    fig, msg = tab.frontier_plot("t/frontier_test.csv")
    assert {t.name for t in fig.data} == {"confidence", "threshold", "boe", "envelope"}
    assert "t/frontier_test.csv" in msg and "threshold from 3; boe from 30" in msg
    assert tab.frontier_plot("t/frontier_x.csv")[0] is None
    fig, msg = tab.frontier_plot("../README.md")  # only the listed results files are ever read
    assert fig is None and "sweep='../README.md'" in msg


def test_the_frontier_tab_opens_the_newest_frontier_by_its_recorded_stamps(tmp_path, monkeypatch):
    """Newest by the `created` stamps in the files, not by file age (a clone resets that); frontiers
    before step sweeps; on a tie the default task's first; study and archive folders are not tasks."""
    import os

    from app import frontier as tab

    df = _rows([("confidence", 4, 0.5, 0.4, 0.6, 4.0)])
    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path))
    _write(tmp_path / "countdown" / "frontier_test.csv", df, "2026-02-01T00:00:00")
    _write(tmp_path / "sudoku6" / "frontier_test.csv", df, "2026-03-01T00:00:00")  # the newest
    _write(tmp_path / "sudoku" / "frontier_test.csv", df, "2026-02-01T00:00:00")  # ties countdown: default first
    _write(tmp_path / "sudoku" / "pareto_test.csv", df, "2026-04-01T00:00:00")  # newer, but a step sweep
    _write(tmp_path / "studies" / "frontier_x.csv", df, "2026-05-01T00:00:00")
    (tmp_path / "sudoku" / "notes.csv").write_text("")
    os.utime(tmp_path / "sudoku6" / "frontier_test.csv", (1, 1))  # the oldest file on disk: age is ignored
    assert tab.sweep_files() == ["sudoku6/frontier_test.csv", "sudoku/frontier_test.csv",
                                 "countdown/frontier_test.csv", "sudoku/pareto_test.csv"]
    monkeypatch.setenv("BOE_RESULTS_DIR", str(tmp_path / "none"))
    assert tab.sweep_files() == [] and tab.frontier_plot(None)[0] is None


def test_identical_points_are_marked_as_ties():
    df = _rows([("confidence", 4, 0.5, 0.4, 0.6, 4.0), ("boe", 4, 0.5, 0.4, 0.6, 4.0), ("boe", 8, 0.6, 0.5, 0.7, 20.0),
                ("threshold:tau=0.9", 80, 0.8, 0.7, 0.9, 5.0)])
    env = envelope_table(df)
    tie = env[(env["family"] == "boe") & (env["budget"] == "steps=4")].iloc[0]
    assert tie["on_envelope"] and tie["tied_with"] == "confidence"
    from boe_core.bench.frontier import markdown
    assert "No BoE-based point is on the envelope except in ties" in markdown(env, "t")


def test_summary_markdown_has_a_row_per_family_and_a_column_per_task():
    a = _rows([("confidence", 4, 0.50, 0.40, 0.60, 4.0), ("threshold:tau=0.9", 16, 0.72, 0.62, 0.81, 3.0),
               ("boe", 8, 0.90, 0.84, 0.95, 30.0), ("random", 8, 0.20, 0.12, 0.30, 8.0)])
    b = _rows([("confidence", 4, 0.60, 0.50, 0.70, 4.0), ("boe", 4, 0.60, 0.50, 0.70, 4.0)])
    lines = summary_markdown({"ta": a, "tb": b}).splitlines()
    assert lines[0] == "| policy | ta | tb |" and lines[1] == "|---|---|---|"
    rows = {ln.split(" | ")[0][2:]: ln for ln in lines[2:]}
    assert list(rows) == ["threshold", "confidence", "random", "boe"]  # first seen, by compute in the first task
    assert rows["threshold"] == "| threshold | **0.72 @ 3** |  |"  # no point in tb: an empty cell
    assert rows["boe"] == "| boe | **0.90 @ 30** | **0.60 @ 4 (= confidence)** |"  # a tie names its twin
    assert rows["confidence"] == "| confidence | (0.50 @ 4)* | **0.60 @ 4 (= boe)** |"  # beaten outside the CIs
    assert rows["random"] == "| random | (0.20 @ 8)* |  |"


def test_family_specs_put_the_budget_knob_after_the_spec():
    from boe_core.bench import parse_specs
    from boe_core.bench.frontier import FAMILIES, Family

    assert Family("confidence").specs() == ["confidence"]
    assert Family("threshold", "tau", (0.5, 0.9)).specs() == ["threshold:tau=0.5", "threshold:tau=0.9"]
    assert Family("boe-adaptive:veto=bottom", "tau", (0.7,)).specs() == ["boe-adaptive:veto=bottom,tau=0.7"]
    for fam in FAMILIES:  # every spec is valid, and its results label reads back as this family and budget
        specs = fam.specs()
        if not fam.search:  # a search's points are run by run_search, not parsed as policy specs
            assert [s.label for s in parse_specs(specs)] == specs
        budgets = [f"{fam.knob}={v}" for v in fam.values] if fam.adaptive else [""]
        assert [family_of(s) for s in specs] == [(fam.spec, b) for b in budgets]


def test_the_frontier_sweeps_each_family_over_its_budget_grid(tmp_path, monkeypatch):
    """Fixed-count families over STEPS (the costly ones over STEPS_LOW, the lower half), adaptive ones
    over their knob at a step cap that never binds (every mask of the task)."""
    import math

    import boe_core.bench.runner as runner
    from boe_core.bench import make_task
    from boe_core.bench.frontier import CAP, FAMILIES, STEPS, STEPS_LOW, TASKS, csv_path, run_task

    for t in TASKS:
        assert all(b == 2 * a for a, b in zip(STEPS[t], STEPS[t][1:]))  # 8, 4, 2, 1 tokens per step
        assert STEPS_LOW[t][1:] == STEPS[t][:-1] and STEPS_LOW[t][0] == math.ceil(STEPS[t][0] / 2)
        task = make_task(t)
        assert CAP[t] == getattr(task, "gen_length", 81)  # sudoku: every one of the 81 cells may be blank
    sweeps = []
    monkeypatch.setattr(runner, "run_sweep", sweeps.append)
    for t in TASKS:
        sweeps.clear()
        run_task(t, FAMILIES, limit=2, batch_size=1, threads=1, split="val", quiet=True, out_dir=tmp_path)
        assert csv_path(t, tmp_path, "val") == tmp_path / t / "frontier_val.csv"  # the task's folder
        # the planner's views are 9x9 Sudoku's; a search family runs its own decodes, not a sweep
        here = [f for f in FAMILIES if (not f.tasks or t in f.tasks) and not f.search]
        assert len(sweeps) == len(here) and (t == "sudoku") == any(f.spec == "planner" for f in here)
        for fam, sw in zip(here, sweeps):
            assert [s.label for s in sw.specs] == fam.specs()
            want = [CAP[t]] if fam.adaptive else list((STEPS_LOW if fam.low_steps else STEPS)[t])
            assert sw.budgets == want, (t, fam.spec)
            assert sw.out == csv_path(t, tmp_path, "val") and sw.model == make_task(t).default_model
            assert (sw.split, sw.limit) == ("val", 2)


def _ceiling_rows():
    """Three decoders and an oracle that beats them all at less compute (it reads the answer)."""
    df = _rows([("confidence", 4, 0.30, 0.22, 0.40, 4.0), ("confidence", 8, 0.40, 0.31, 0.50, 8.0),
                ("threshold:tau=0.9", 81, 0.45, 0.36, 0.55, 3.0), ("rcr", 8, 0.42, 0.33, 0.52, 8.0),
                ("oracle", 4, 0.99, 0.95, 1.00, 2.0), ("oracle", 8, 1.00, 0.96, 1.00, 8.0)])
    return df.assign(key=[f"k{i}" for i in range(len(df))])


def test_the_oracle_is_a_ceiling_line_never_on_the_envelope():
    from boe_core.bench.frontier import markdown

    env = envelope_table(_ceiling_rows())
    ceil = env[env["family"] == "oracle"]
    assert ceil["ceiling"].all() and not ceil["on_envelope"].any()
    assert owners(env) == [(3.0, float("inf"), "threshold")]  # the oracle at 2 fwd-eq would own it as a decoder
    assert (env[~env["ceiling"]]["significantly_below"] == "").all()  # nor does it beat anyone
    md = markdown(env, "t")
    assert "| oracle (reads the answer) | steps=4 | 100 | 0.990" in md and "ceiling, never" in md
    assert "Ceiling (reads the answer, so not a decoder and never on the envelope): oracle 1.000" in md
    fig = frontier_chart(_ceiling_rows())
    line = [t for t in fig.data if t.name == "oracle (reads the answer)"]
    assert len(line) == 1 and line[0].line.dash == "dash"
    assert "oracle" not in list(next(t for t in fig.data if t.name == "envelope").text)
    row = [ln for ln in summary_markdown({"t": _ceiling_rows()}).splitlines() if ln.startswith("| oracle")]
    assert row == ["| oracle (reads the answer) | ceiling 1.00 @ 8 |"]


def test_paired_tests_between_the_top_points():
    from boe_core.bench.frontier import markdown, top_pairs

    df = _ceiling_rows()
    env = envelope_table(df)
    pairs = [(a["policy"], a["steps"], b["policy"], b["steps"], why) for a, b, why in top_pairs(env)]
    assert pairs == [("threshold:tau=0.9", 81, "rcr", 8, "the two best checker-free families"),
                     ("threshold:tau=0.9", 81, "confidence", 4, "against confidence at the nearest compute"),
                     ("threshold:tau=0.9", 81, "confidence", 8, "against confidence's best point"),
                     ("rcr", 8, "confidence", 8, "against confidence at the nearest compute"),
                     ("oracle", 4, "threshold:tau=0.9", 81, "the ceiling at the best point's compute")]
    # per-problem outcomes on 10 problems: threshold solves 0-5, rcr 0-3 and 8, confidence@8 0-2, the oracle all
    solved = {"k0": range(2), "k1": range(3), "k2": range(6), "k3": [0, 1, 2, 3, 8], "k4": range(10),
              "k5": range(10)}
    ex = pd.DataFrame([dict(key=k, id=i, exact_match=float(i in s)) for k, s in solved.items() for i in range(10)])
    md = markdown(env, "t", ex)
    assert "| threshold @ tau=0.9 (3.0 fwd-eq) | rcr @ steps=8 (8.0 fwd-eq) | the two best checker-free families " \
           "| 10 | 6 | 5 | 2 | 1 | 1 |" in md
    assert "| threshold @ tau=0.9 (3.0 fwd-eq) | confidence @ steps=8 (8.0 fwd-eq) | against confidence's best " \
           "point | 10 | 6 | 3 | 3 | 0 | 0.25 |" in md
    assert "| oracle (reads the answer) @ steps=4 (2.0 fwd-eq) | threshold @ tau=0.9 (3.0 fwd-eq) |" in md
    assert "Paired per problem" not in markdown(env, "t")  # no per-example outcomes: no paired table


def test_a_rerun_at_more_problems_replaces_the_point_and_the_oracle_needs_answers():
    from boe_core.bench import make_task
    from boe_core.bench.frontier import FAMILIES, has_answers

    old = _rows([("confidence", 4, 0.50, 0.40, 0.60, 4.0)])
    new = old.assign(n=300, quality=0.6)
    env = envelope_table(pd.concat([new, old]))
    assert len(env) == 1 and env.iloc[0]["n"] == 300 and env.iloc[0]["quality"] == 0.6
    assert [f.spec for f in FAMILIES if f.reads_answer] == ["oracle"] and "rcr" in [f.spec for f in FAMILIES]
    assert has_answers(make_task("sudoku")) and has_answers(make_task("countdown"))
    assert not has_answers(make_task("kjv-gen"))


def test_the_best_is_paired_with_the_cheapest_envelope_point_that_matches_it():
    from boe_core.bench.frontier import top_pairs

    df = _rows([("confidence", 24, 0.33, 0.25, 0.43, 24.0), ("confidence", 48, 0.46, 0.37, 0.56, 48.0),
                ("threshold:tau=0.99", 81, 0.44, 0.35, 0.54, 21.0), ("rcr", 48, 0.49, 0.39, 0.59, 48.0)])
    pairs = [(a["policy"], a["steps"], b["policy"], b["steps"]) for a, b, _ in top_pairs(envelope_table(df))]
    assert pairs == [("rcr", 48, "confidence", 48), ("rcr", 48, "threshold:tau=0.99", 81),
                     ("threshold:tau=0.99", 81, "confidence", 24), ("threshold:tau=0.99", 81, "confidence", 48)]
