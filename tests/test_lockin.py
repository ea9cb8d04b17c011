"""The lock-in map: hand-overs to confidence from every step, with inferred points where the run's
own commit was confidence's, a cancel that stops early, and whole-run fidelity."""
import threading

import numpy as np
import pytest

from boe_core import branch, generate
from boe_core.fidelity import VARIANTS, measure_trace, state_metrics, tis_fidelity
from boe_core.lockin import LockInCache, lockin_map, trace_key


def _judge(trace):
    return {"solved": None, "first_wrong_step": None, "text": " ".join(map(str, trace.final_canvas[0]))}


def test_a_confidence_run_needs_no_rollout(tiny):
    tr = generate(tiny, "ab", gen_length=8, steps=4, policy="confidence")
    m = lockin_map(tiny, tr, judge=_judge)
    assert m.rollouts == 0 and len(m.points) == 4 and all(p.distance == 0 for p in m.points)


def test_inferred_points_equal_real_rollouts(tiny):
    tr = generate(tiny, "abc", gen_length=12, steps=6, policy="random", seed=1)
    m = lockin_map(tiny, tr, judge=_judge)
    assert 0 < m.rollouts <= tr.num_steps
    for p in m.points:  # every point, rolled out or inferred, matches a real branch
        b = branch(tiny, tr, p.step, policy="confidence")
        assert p.distance == int((b.final_canvas[0] != tr.final_canvas[0]).sum())


def test_cancel_stops_early_and_is_not_cached(tiny):
    tr = generate(tiny, "abc", gen_length=12, steps=6, policy="random", seed=2)
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 2:
            stop.set()

    m = lockin_map(tiny, tr, judge=_judge, callback=progress, cancel=stop)
    assert not m.complete and len(m.points) == 2 and seen == [1, 2]
    cache = LockInCache()
    cache.put(trace_key(tr, "confidence"), m)
    assert cache.get(trace_key(tr, "confidence")) is None


def test_whole_run_fidelity_is_the_one_step_fidelity_at_every_step(tiny):
    """Each step's row of the whole-run measure holds what `tis_fidelity` finds at that step alone."""
    tr = generate(tiny, "ab", gen_length=12, steps=6, policy="boe", r=4)
    rows = measure_trace(tiny, tr, variants={"current": VARIANTS["current"]})
    assert len(rows) >= 2 and {r["variant"] for r in rows} == {"current"}
    for r in rows:
        f = tis_fidelity(tiny, tr, r["step"], linearize_at="current")
        want = state_metrics(np.array(f.tis), np.array(f.delta))
        assert r["n_candidates"] == want["n_candidates"] == len(f.positions)
        assert r["top1"] == want["top1"] and r["sign"] == pytest.approx(want["sign"])
        assert r["spearman"] == pytest.approx(want["spearman"], nan_ok=True)
        assert r["spearman"] == pytest.approx(f.spearman, nan_ok=True)
