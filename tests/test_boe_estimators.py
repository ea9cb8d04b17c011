"""Linearisation points, gates and the committed set of BoE: tests that fail when the estimator or
the selection is wrong (not only on the confidence fallback path)."""
import math

import numpy as np
import pytest
import torch

from boe_core import BoESettings, generate
from boe_core.config import DecodeConfig
from boe_core.models.base import MDMAdapter
from boe_core.numerics import token_stats
from boe_core.policies import StepContext
from boe_core.policies import boe as boe_mod
from boe_core.policies.objective import soft_embeddings
from boe_core.policies.selection import selection_score
from boe_core.sampler import build_context, init_state, state_at


def test_boe_commits_its_top_scoring_candidates_off_the_fallback_path(tiny64):
    tr = generate(tiny64, "abc", gen_length=16, steps=8, policy="boe", r=5, rho=1.0, use_aqa=False, gate="product")
    steered = [r for r in tr.records if not r.fallback[0]]
    assert len(steered) >= 3
    for r in steered:
        assert np.nanmax(np.abs(r.grad_norm)) > 0  # the gradient is not zero on this fixture
        score = np.where(r.eligible[0] & np.isfinite(r.score[0]), r.score[0], -np.inf)
        b = int(r.n_commit[0])
        top = set(np.argsort(-score, kind="stable")[:b].tolist())
        assert set(np.flatnonzero(r.chosen[0]).tolist()) == top
        # and the score is not confidence order in disguise on every step
    assert any(set(np.flatnonzero(r.chosen[0])) != set(np.flatnonzero(r.signals["confidence_pick"][0]))
               for r in steered)


class LinearMix(MDMAdapter):
    """hidden = (I + M) e: positions mix linearly; 'logits' are the hidden rows (V = d)."""

    split_head = False

    def __init__(self, N=7, d=6, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.E = torch.randn(d, d, generator=g, dtype=torch.float64)
        self.M = 0.4 * torch.randn(N, N, generator=g, dtype=torch.float64)
        self.max_length = N
        super().__init__(mask_id=0, name="linmix", dtype=torch.float64)

    def embedding_matrix(self):
        return self.E

    def hidden(self, embeds, attention_mask=None, active=None):
        return embeds + torch.einsum("nm,bmd->bnd", self.M.to(embeds.dtype), embeds)

    def id_to_token(self, i):
        return str(i)


def _quadratic_F(adapter, h, probe):
    """A quadratic 'entropy' of the probe rows, so F is exactly quadratic along any write."""
    q = (h ** 2).sum(-1) + 0.7 * h.sum(-1)
    return (q * probe).sum(1)


def _single_candidate_ctx(adapter, linearize_at, **kw):
    ids = torch.zeros(1, adapter.max_length, dtype=torch.long)
    ids[0, :2] = torch.tensor([3, 4])
    cfg = DecodeConfig(policy="boe", steps=5, settings=dict(linearize_at=linearize_at, use_aqa=False, **kw))
    state = init_state(adapter, ids, cfg)
    ctx = build_context(adapter, state, cfg)
    cand = torch.zeros_like(ctx.masked)
    cand[0, 3] = True
    probe = ctx.masked & ~cand
    return ctx, cand, probe


def _exact_soft_drop(adapter, ctx, cand, probe, F):
    e0 = adapter.embed(ctx.ids)
    soft = soft_embeddings(adapter, ctx.stats.log_probs_at(cand), 1.0)
    e1 = e0.clone()
    e1[cand] = soft.to(e1.dtype)
    return float(F(adapter, adapter.hidden(e0), probe) - F(adapter, adapter.hidden(e1), probe))


def test_midpoint_is_exact_when_F_is_quadratic_along_the_write(monkeypatch):
    monkeypatch.setattr(boe_mod, "probe_entropy", _quadratic_F)
    adapter = LinearMix()
    errs = {}
    for point in ("current", "surrogate", "midpoint"):
        ctx, cand, probe = _single_candidate_ctx(adapter, point)
        exact = _exact_soft_drop(adapter, ctx, cand, probe, _quadratic_F)
        with torch.no_grad():
            tis = boe_mod.token_influence(ctx, cand, probe)[0]
        errs[point] = abs(float(tis[cand]) - exact) / abs(exact)
    assert errs["midpoint"] < 1e-9
    assert errs["current"] > 1e-3 and errs["surrogate"] > 1e-3


def test_quadrature_approaches_the_exact_soft_write_drop(tiny64):
    """On real (random-model) states: the k-point Gauss-Legendre estimate of one candidate's
    soft-write drop converges as k grows, and beats the end-point gradient."""
    from boe_core.policies.objective import probe_entropy

    tr = generate(tiny64, "abc", gen_length=14, steps=7, policy="confidence")
    checked = 0
    for at in (0, 2, 4):
        ids = torch.as_tensor(tr.records[at].canvas_before)
        masked = (ids == tiny64.mask_id)[0].nonzero().flatten().tolist()
        for pos in masked[:2]:
            errs = {}
            for point, k in (("current", 2), ("quadrature", 2), ("quadrature", 3), ("quadrature", 4)):
                cfg = DecodeConfig(policy="boe", steps=7, settings=dict(linearize_at=point, quad_points=k,
                                                                        use_aqa=False))
                state = init_state(tiny64, ids, cfg)
                ctx = build_context(tiny64, state, cfg)
                cand = torch.zeros_like(ctx.masked)
                cand[0, pos] = True
                probe = ctx.masked & ~cand
                exact = _exact_soft_drop(tiny64, ctx, cand, probe, probe_entropy)
                with torch.no_grad():
                    tis = boe_mod.token_influence(ctx, cand, probe)[0]
                errs[(point, k)] = abs(float(tis[cand]) - exact)
            assert errs[("quadrature", 4)] <= errs[("quadrature", 2)] + 1e-9
            assert errs[("quadrature", 4)] < errs[("current", 2)]
            checked += 1
    assert checked >= 4


def test_quadrature_batches_its_points_into_one_call_and_counts_them(tiny):
    calls = []
    orig = tiny.hidden
    tiny.hidden = lambda e, am=None, active=None: calls.append(e.shape[0]) or orig(e, am, active)
    try:
        tr = generate(tiny, "ab", gen_length=10, steps=5, policy="boe", linearize_at="quadrature",
                      quad_points=3, r=3)
    finally:
        del tiny.hidden
    rec = next(r for r in tr.records if not r.fallback[0])
    assert 3 in calls  # the 3 points of one row went through one forward
    assert rec.n_forward == 1 + 3 and rec.n_backward == 3


def _fixture_ctx(settings):
    from test_policies import _fixture

    m = _fixture()
    ids = torch.zeros(1, 4, dtype=torch.long)
    stats = token_stats(m.logits(ids), m.suppressed_ids, 0.0, None)
    masked = torch.ones(1, 4, dtype=torch.bool)
    return StepContext(m, ids, None, masked, masked, torch.tensor([1]), 2, 4, stats, settings, None)


def test_a_low_confidence_candidate_never_passes_the_threshold_gate():
    # confidences of the fixture: 0.50, 0.45, 0.48, 0.40; confidence's own top-1 is position 0
    ctx = _fixture_ctx(BoESettings(gate="threshold", tau_c=0.47, lam=0.0))
    cand = torch.ones(1, 4, dtype=torch.bool)
    signal = torch.tensor([[0.0, 100.0, 1.0, 1000.0]])  # the riskiest cells have the largest signal
    s = selection_score(ctx, signal, cand)[0]
    assert s[1] == -math.inf and s[3] == -math.inf  # below tau_c and not confidence's own pick
    assert torch.isfinite(s[0]) and torch.isfinite(s[2])
    assert int(torch.argmax(s)) == 2  # among the gated, the signal decides


def test_additive_gate_is_confidence_plus_rank():
    ctx = _fixture_ctx(BoESettings(gate="additive", beta=0.5, lam=0.0))
    cand = torch.tensor([[True, True, True, False]])
    s = selection_score(ctx, torch.tensor([[10.0, 30.0, 20.0, 0.0]]), cand)[0]
    c = ctx.stats.confidence.double()[0]
    assert torch.allclose(s[:3], c[:3] + 0.5 * torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64))
    assert s[3] == -math.inf


@pytest.mark.parametrize("gate", ["product", "threshold", "additive"])
def test_every_gate_works_with_lookahead_too(tiny, gate):
    """Lookahead's exact drop goes through the gate: the recorded score is `selection_score` of the
    recorded drop under that gate on the same state, and the step commits its top-b."""
    tau_c = 0.121  # this random model's confidences are ~0.12: the threshold gate lets some through
    tr = generate(tiny, "ab", gen_length=10, steps=5, policy="lookahead", gate=gate, r=4, tau_c=tau_c)
    cfg = DecodeConfig.from_dict(tr.config)
    steered = [r for r in tr.records if not r.fallback[0]]
    assert len(steered) >= 2
    shut = 0
    for r in steered:
        cand = r.candidates[0]
        assert np.isfinite(r.signals["delta"][0][cand]).all()
        ctx = build_context(tiny, state_at(tiny, tr, r.step), cfg)
        drop = torch.nan_to_num(torch.as_tensor(r.signals["delta"]).double(), nan=0.0)
        want = selection_score(ctx, drop, torch.as_tensor(r.candidates))[0].numpy()
        ok = np.isfinite(want)
        assert np.array_equal(np.isfinite(r.score[0]), ok)  # -inf (recorded NaN) off the gated pool
        np.testing.assert_allclose(r.score[0][ok], want[ok], rtol=1e-5)
        b = int(r.n_commit[0])
        assert set(np.flatnonzero(r.chosen[0])) == set(np.argsort(-want, kind="stable")[:b].tolist())
        if gate == "threshold":
            pick = r.signals["confidence_pick"][0]
            assert (r.confidence[0][r.chosen[0] & ~pick] >= tau_c).all()  # below τ_c only confidence's own
            shut += int((cand & ~ok).sum())
    if gate == "threshold":
        assert shut > 0  # the gate did keep some candidates out
