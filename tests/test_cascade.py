"""remask TIS (BoE's gradient at committed tokens), its fidelity, and the cascade metric."""
import json

import numpy as np
import pytest
import torch

from boe_core import DecodeConfig, generate
from boe_core.cascade import RootRank, first_wrong_commits, rank_of, root_ranks, summarise
from boe_core.fidelity import exact_remask_drop, exact_remask_facts, measure_remask_trace
from boe_core.numerics import suppress
from boe_core.policies.boe import remask_influence, weighted_gradient
from boe_core.policies.objective import probe_entropy
from boe_core.policies.selection import candidates, probes
from boe_core.sampler import build_context, state_at


def _context(adapter, trace, k, **settings):
    cfg = DecodeConfig.from_dict(trace.config).replace(policy="boe", linearize_at="current", use_aqa=False,
                                                      **settings).validate()
    return build_context(adapter, state_at(adapter, trace, k), cfg, force_graph=True)


def test_remask_tis_is_the_first_order_drop_of_remasking(tiny64):
    """-<g_j, e_mask - e_j> against a finite difference of F along the write e_j -> e_mask."""
    tr = generate(tiny64, "abc", gen_length=10, steps=5, policy="confidence")
    ctx = _context(tiny64, tr, 2, rho=1.0)
    cand, _ = candidates(ctx)
    probe = probes(ctx, cand)
    rt = remask_influence(ctx, weighted_gradient(ctx, cand, probe)[1])
    committed = ctx.committed[0].nonzero().flatten().tolist()
    assert committed and torch.isnan(rt[~ctx.committed]).all()
    E = tiny64.embedding_matrix()
    eps = 1e-4
    with torch.no_grad():
        base = tiny64.embed(ctx.ids)
        f0 = probe_entropy(tiny64, tiny64.hidden(base, None), probe)[0]
        for j in committed:
            x = base.clone()
            x[0, j] += eps * (E[tiny64.mask_id] - E[ctx.ids[0, j]])
            f1 = probe_entropy(tiny64, tiny64.hidden(x, None), probe)[0]
            assert float(rt[0, j]) == pytest.approx(float(-(f1 - f0) / eps), rel=1e-3, abs=1e-6)
    ctx.graph = None


def test_exact_remask_drop_is_one_forward_per_token(tiny):
    tr = generate(tiny, "abc", gen_length=8, steps=4, policy="confidence")
    ctx = _context(tiny, tr, 2, rho=1.0)
    cand, _ = candidates(ctx)
    probe = probes(ctx, cand)
    d = exact_remask_drop(ctx, ctx.committed, probe)
    j = int(ctx.committed[0].nonzero()[0])
    ids = ctx.ids.clone()
    ids[0, j] = tiny.mask_id
    with torch.no_grad():
        f_after = probe_entropy(tiny, tiny.hidden(tiny.embed(ids), None), probe)[0]
    assert float(d[0, j]) == pytest.approx(float((ctx.stats.entropy[0] * probe[0]).sum() - f_after), abs=1e-5)
    facts = exact_remask_facts(ctx, ctx.committed, probe)
    with torch.no_grad():
        # the model at j with j masked, special ids suppressed as in every statistic
        p = torch.softmax(suppress(tiny.logits(ids)[0, j].float()[None], tiny.suppressed_ids)[0], -1)
    assert float(facts["own_prob"][0, j]) == pytest.approx(float(p[ctx.ids[0, j]]), rel=1e-4)
    assert float(facts["own_entropy"][0, j]) == pytest.approx(float(-torch.special.xlogy(p, p).sum()), rel=1e-4)
    assert torch.isnan(facts["own_prob"][~ctx.committed]).all()
    ctx.graph = None


def test_boe_records_remask_tis_at_committed_tokens_only(tiny64):
    tr = generate(tiny64, "abc", gen_length=16, steps=8, policy="boe", r=5, rho=1.0, use_aqa=False)
    steered = [r for r in tr.records if "remask_tis" in r.signals and not r.fallback[0]]
    assert steered
    for r in steered:
        rt = r.signals["remask_tis"][0]
        committed = ~r.masked[0] & ~tr.fixed[0]
        assert np.isfinite(rt[committed]).all() and np.isnan(rt[~committed]).all()


def test_remask_fidelity_over_a_run(tiny):
    """Each row compares remask TIS with the exact drop of really remasking, at the current block's
    committed tokens of that step: recomputed here from `remask_influence` and `exact_remask_drop`."""
    from dataclasses import replace

    from boe_core.fidelity import state_metrics
    from boe_core.policies.revision import revisable

    tr = generate(tiny, "ab", gen_length=12, steps=6, policy="confidence")
    variants = {"current": {"linearize_at": "current"}, "midpoint": {"linearize_at": "midpoint"}}
    rows = measure_remask_trace(tiny, tr, {"rho": 1.0}, variants)
    assert rows and {r["variant"] for r in rows} == {"current", "midpoint"}
    steps = sorted({r["step"] for r in rows})
    assert steps
    for k in steps:
        ctx = _context(tiny, tr, k, rho=1.0)
        own = ctx.settings
        cand, _ = candidates(ctx)
        probe = probes(ctx, cand)
        pool = revisable(ctx)[0]
        drop = exact_remask_drop(ctx, revisable(ctx), probe)[0][pool].numpy()
        for name, over in variants.items():
            ctx.settings = replace(own, **over)
            est = remask_influence(ctx, weighted_gradient(ctx, cand, probe)[1])[0][pool].float().numpy()
            want = state_metrics(est, drop)
            got = next(r for r in rows if r["step"] == k and r["variant"] == name)
            assert got["n_candidates"] == want["n_candidates"] == int(pool.sum()) >= 2
            assert got["top1"] == want["top1"] and got["sign"] == pytest.approx(want["sign"])
            assert got["spearman"] == pytest.approx(want["spearman"], nan_ok=True)
        ctx.graph = None


def test_first_wrong_commit_and_ranks(tiny):
    tr = generate(tiny, "ab", gen_length=8, steps=4, policy="confidence")
    target = tr.final_canvas.copy()
    r1 = tr.records[1]
    wrong = int(np.flatnonzero(r1.chosen[0])[0])
    target[0, wrong] = (target[0, wrong] + 1) % 5 + 2  # the reference disagrees with one commit of step 1
    assert first_wrong_commits(tr, target) == {0: (1, [wrong])}
    assert rank_of(np.array([0.5, 0.9, 0.5, 0.1]), np.array([True, True, True, False]), [0]) == 3  # ties count against
    assert RootRank(0, 1, [4], 2, 1, 10).chance(3) == pytest.approx(0.3)
    assert RootRank(0, 1, [4, 5], 2, 1, 4).chance(3) == pytest.approx(1.0)
    ranks = root_ranks(tiny, tr, target, {"rho": 1.0, "r": 2}, exact=True)
    assert set(ranks) == {"remask TIS", "exact remask drop", "exact drop net of H_j",
                          "lowest own-token probability when remasked", "lowest commit confidence"}
    rr = ranks["remask TIS"]
    assert rr and all(r.step > 1 and r.roots == [wrong] and 1 <= r.rank <= r.n_committed for r in rr)
    s = summarise(rr)
    assert s["runs"] == 1 and s["states"] == len(rr)
    for k in (1, 3):
        hit = float(np.mean([r.rank <= k for r in rr]))
        assert s[f"hit@{k}"] == pytest.approx(hit)
        assert s[f"hit@{k}_ci"] == pytest.approx([hit, hit])  # one run: every bootstrap draw is that run
        assert s[f"chance@{k}"] == pytest.approx(np.mean([r.chance(k) for r in rr]))
        assert s[f"next_hit@{k}"] == float(rr[0].rank <= k)


def test_bench_cascade_writes_its_table(tiny_sudoku_dir, tmp_path, capsys):
    from boe_core.bench.cascade import main

    from boe_core import load_model
    from boe_core.bench import make_task
    from boe_core.bench.cascade import targets
    from boe_core.bench.runner import task_base_config
    from boe_core.bench.specs import parse_spec

    out = tmp_path / "c.json"
    main(["--model", str(tiny_sudoku_dir), "--limit", "3", "--budget", "4", "--out", str(out)])
    d = json.loads(out.read_text())
    assert d["runs"] == 3 and set(d["summary"]) == {"remask TIS", "lowest commit confidence"}
    assert "hit@3" in capsys.readouterr().out
    # the same three runs by hand: confidence at 4 steps, ranked against the solutions
    adapter, task = load_model(str(tiny_sudoku_dir)), make_task("sudoku")
    ex = task.load("val", 3)
    ids, am = task.canvas(adapter, ex)
    cfg = parse_spec("confidence").config(steps=4, seed=0, base=task_base_config(task))
    tr = generate(adapter, canvas=ids, attention_mask=am, config=cfg)
    target = targets(task, adapter, ex)
    assert d["wrong_runs"] == int((tr.final_canvas != target).any(1).sum()) >= 1
    ranks = root_ranks(adapter, tr, target, {})
    assert d["summary"] == json.loads(json.dumps({name: summarise(rr) for name, rr in ranks.items()}))
    assert d["summary"]["remask TIS"]["states"] > 0
