"""Root finders: the registry, find_roots, hit@k with pessimistic ties, the measured truth."""
import numpy as np
import pytest

from boe_core import ConfigError, counterfactuals, find_roots, generate
from boe_core.counterfactuals import commits_of
from boe_core.roots import DEFAULT_METHOD, ROOT_FINDERS, chance_at, order_of, pessimistic_rank, true_root
from boe_core.roots.base import RootFinder


@pytest.fixture(scope="module")
def run(tiny):
    return generate(tiny, "ab", gen_length=8, steps=4, policy="confidence")


def test_every_finder_scores_every_commit(tiny, run):
    n = len(commits_of(run))
    cf = counterfactuals(tiny, run, store=False)
    assert {"lowest-confidence", "confidence-drop", "remask-tis", "leave-one-out", "counterfactual",
            "grad-likelihood"} <= set(ROOT_FINDERS.names())
    for name, f in ROOT_FINDERS.items():
        s = f.score(tiny, run, 0, cf)
        assert s.shape == (n,) and not np.isnan(s).any(), name
    np.testing.assert_allclose(ROOT_FINDERS.get("counterfactual").score(tiny, run, 0, cf), cf.g)


def test_lowest_confidence_and_find_roots(tiny, run):
    ranking = find_roots(tiny, run, method="lowest-confidence")
    conf = [float(run.records[s].confidence[0, p]) for s, p in ranking]
    assert conf == sorted(conf) and sorted(ranking) == commits_of(run)
    assert find_roots(tiny, run) == find_roots(tiny, run, method=DEFAULT_METHOD)
    with pytest.raises(ConfigError):
        find_roots(tiny, run, method="nope")
    with pytest.raises(ConfigError):
        find_roots(tiny, run, row=2)


def test_leave_one_out_is_the_masked_surprise(tiny, run):
    import torch

    s, p = commits_of(run)[2]
    ids = torch.as_tensor(run.final_canvas.copy())
    tok = int(ids[0, p])
    ids[0, p] = tiny.mask_id
    with torch.no_grad():
        lp = torch.log_softmax(tiny.logits(ids)[0, p].float().index_fill(0, torch.tensor(tiny.suppressed_ids), -np.inf), -1)
    assert ROOT_FINDERS.get("leave-one-out").score(tiny, run)[2] == pytest.approx(-float(lp[tok]), abs=1e-5)


def test_grad_likelihood_needs_no_weight_grads(tiny, run):
    s = ROOT_FINDERS.get("grad-likelihood").score(tiny, run)
    assert np.isfinite(s).all()
    assert not any(q.requires_grad for q in tiny.model.parameters())


def test_pessimistic_rank_and_chance():
    scores = np.array([0.1, 0.5, 0.5, 0.2])
    assert pessimistic_rank(scores, 1) == 2 and pessimistic_rank(scores, 2) == 2  # a tie counts against
    assert pessimistic_rank(scores, 3) == 3 and pessimistic_rank(scores, 0) == 4
    assert pessimistic_rank(np.array([1.0, 1.0, 1.0]), 0) == 3  # all tied: last
    assert chance_at(4, 1) == 0.25 and chance_at(4, 3) == 0.75 and chance_at(2, 3) == 1.0
    assert order_of(scores, [(0, 0), (0, 1), (1, 2), (1, 3)]) == [(0, 1), (1, 2), (1, 3), (0, 0)]


def test_true_root_finds_a_fixing_correction(tiny, run):
    # make the run's answer "wrong" against a target that differs in one committed token
    s, p = commits_of(run)[1]
    target = run.final_canvas[0].copy()
    alt = int(next(a for a in run.records[s].topk_ids[0, p] if a != target[p]))
    target[p] = alt
    fixed_final = None

    def judge(final):
        return bool((final == target).all())

    t = true_root(tiny, run, 0, target, judge)
    assert (s, p) in t.wrong
    if t.root is not None:  # the correction reproduced the target exactly
        from boe_core import intervene

        fixed_final = intervene(tiny, run, t.root[0] + 1, {t.root[1]: int(target[t.root[1]])}).final_canvas[0]
        assert judge(fixed_final)


def test_registry_is_explicit():
    f = RootFinder("tmp", lambda m, t, r, c=None: np.array([1.0, np.nan]), "test")
    with ROOT_FINDERS.registered(f):
        assert list(f.score(None, None)) == [1.0, -np.inf]
    assert "tmp" not in ROOT_FINDERS


def test_bench_summary_counts_ties_against_the_root():
    from boe_core.bench.roots import summarise

    def rec(root, scores, cf):
        return {"solved": False, "root": root, "first_wrong": root, "commits": [[0, i] for i in range(len(scores))],
                "scores": {"a": scores, "counterfactual": cf}, "seconds": {"a": 0.0}}

    recs = [rec(0, [1.0, 1.0, 0.0, 0.0], [4.0, 3.0, 2.0, 1.0]),  # tied first: rank 2
            rec(2, [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]),  # rank 2
            rec(None, [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]),  # no single fix: left out of hit@k
            {"solved": True}]
    s = summarise(recs, ["a", "counterfactual"], n_boot=50)
    assert (s["runs"], s["failing"], s["single_fix"]) == (4, 3, 2)
    assert s["methods"]["a"]["hit@1"] == 0.0 and s["methods"]["a"]["hit@3"] == 1.0
    assert s["methods"]["a"]["chance@1"] == 0.25 and s["methods"]["a"]["chance@3"] == 0.75
    assert s["methods"]["counterfactual"]["hit@1"] == 0.5
    assert s["methods"]["a"]["spearman_vs_exact"] == pytest.approx((0.8944271909999159 + 1.0 + 1.0) / 3)


def test_counterfactual_top_is_the_exact_score_on_grad_likelihoods_first_m(tiny, run):
    from boe_core.roots.counterfactual_top import top_scores

    cf = counterfactuals(tiny, run, store=False)
    gl = ROOT_FINDERS.get("grad-likelihood").score(tiny, run)
    n, m = len(gl), 3
    first = set(np.lexsort((np.arange(n), -gl))[:m].tolist())
    alone = top_scores(tiny, run, 0, m)  # its own branches, only m of them
    reused = top_scores(tiny, run, 0, m, cf)  # read from the full counterfactuals
    np.testing.assert_allclose(alone, reused, rtol=1e-6, atol=1e-6)
    for i in range(n):
        if i in first:
            assert alone[i] == pytest.approx(cf.g[i], abs=1e-6)
        else:
            assert alone[i] < min(alone[j] for j in first)  # behind every exact score
    rest = sorted((i for i in range(n) if i not in first), key=lambda i: -alone[i])
    assert rest == sorted(rest, key=lambda i: (-gl[i], i))  # grad-likelihood's order behind them


def test_counterfactual_reread_reads_each_branch_final_against_the_runs(tiny, run):
    from boe_core.readback import grouped_pll
    from boe_core.roots.counterfactual_reread import GROUPS

    cf = counterfactuals(tiny, run, store=False)
    scores = ROOT_FINDERS.get("counterfactual-reread").score(tiny, run, 0, cf)
    decoded = ~run.fixed[0]
    base = grouped_pll(tiny, cf.run_final, decoded, None, GROUPS)[0]
    for i in range(cf.n):
        want = grouped_pll(tiny, cf.finals[i], decoded, None, GROUPS)[0] - base
        assert scores[i] == pytest.approx(want, abs=1e-5)
        if np.array_equal(cf.finals[i], cf.run_final):
            assert scores[i] == pytest.approx(0.0, abs=1e-6)
    # without counterfactuals given, it runs the same branches itself
    np.testing.assert_allclose(ROOT_FINDERS.get("counterfactual-reread").score(tiny, run), scores, atol=1e-5)
    assert not ROOT_FINDERS.get("counterfactual-reread").one_pass


def test_reread_surprise_adds_the_commits_surprise_to_the_read_back(tiny, run):
    from boe_core.roots.reread_surprise import WEIGHT

    cf = counterfactuals(tiny, run, store=False)
    f = ROOT_FINDERS.get("reread-surprise")
    rr = ROOT_FINDERS.get("counterfactual-reread").score(tiny, run, 0, cf)
    p = np.array([float(run.records[s].confidence[0, q]) for s, q in commits_of(run)])
    np.testing.assert_allclose(f.score(tiny, run, 0, cf), rr - WEIGHT * np.log(p), rtol=1e-9, atol=1e-9)
    # the bench rebuilds it from cached scores: the same numbers
    cached = {"counterfactual-reread": rr.tolist(), "lowest-confidence": (-p).tolist()}
    np.testing.assert_allclose(f.from_scores(cached), f.score(tiny, run, 0, cf), rtol=1e-9, atol=1e-9)
    assert f.inputs == ("counterfactual-reread", "lowest-confidence") and not f.one_pass
    with pytest.raises(ValueError, match="not built from"):
        ROOT_FINDERS.get("lowest-confidence").from_scores(cached)
