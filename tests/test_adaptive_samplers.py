"""Each adaptive sampler's rule, pinned on hand-made distributions: which positions, how many."""
import json
import math

import numpy as np
import pytest
import torch

from boe_core import generate
from boe_core.errors import ConfigError
from boe_core.policies.boe_adaptive import BoEAdaptiveSettings, gain_commit, tis_veto
from boe_core.policies.commits import count_note
from boe_core.policies.eb import EBSettings, entropy_bounded_commit
from boe_core.policies.infogain import action_objective, candidate_actions
from boe_core.policies.klass import KlassSettings, kl_divergence, klass_commit
from boe_core.policies.pc import PCSettings, pc_scores, read_prior
from boe_core.policies.threshold import ThresholdSettings, threshold_commit

T, F = True, False


def where(mask):
    return [torch.nonzero(r).flatten().tolist() for r in mask]


def test_threshold_commits_everything_that_clears_tau_and_at_least_one():
    conf = torch.tensor([[0.95, 0.50, 0.91, 0.89, 0.99],
                         [0.40, 0.80, 0.30, 0.10, 0.99]])
    eligible = torch.tensor([[T, T, T, T, F],   # 0.99 sits outside the block
                             [T, T, T, T, F]])
    commit, cleared, fell_back = threshold_commit(conf, eligible, 0.9)
    assert where(commit) == [[0, 2], [1]]
    assert cleared.tolist() == [2, 0] and fell_back.tolist() == [F, T]
    assert where(threshold_commit(conf, eligible, 0.5)[0]) == [[0, 1, 2, 3], [1]]
    assert count_note(cleared[:1], "cleared τ = 0.9") == "2 cleared τ = 0.9"
    with pytest.raises(ConfigError, match="tau"):
        ThresholdSettings(tau=1.5).validate()


def test_eb_commits_the_longest_low_entropy_prefix_within_gamma():
    H = torch.tensor([[0.0, 0.05, 0.30, 0.02, 0.50, 0.0]])
    eligible = torch.tensor([[T, T, T, T, T, F]])
    # sorted 0, .02, .05, .30, .50: sum - max = 0, 0, .02, .07, .37
    commit, used = entropy_bounded_commit(H, eligible, 0.1)
    assert where(commit) == [[0, 1, 2, 3]] and used.item() == pytest.approx(0.07)
    assert where(entropy_bounded_commit(H, eligible, 0.05)[0]) == [[0, 1, 3]]
    assert where(entropy_bounded_commit(H, eligible, 0.0)[0]) == [[0, 3]]  # only the free ones after the first
    # the first always goes, however uncertain
    assert where(entropy_bounded_commit(torch.tensor([[2.0, 3.0]]), torch.tensor([[T, T]]), 0.0)[0]) == [[0]]
    assert where(entropy_bounded_commit(torch.tensor([[2.0, 3.0]]), torch.tensor([[F, F]]), 1.0)[0]) == [[]]
    with pytest.raises(ConfigError, match="gamma_eb"):
        EBSettings(gamma_eb=-1).validate()


def test_klass_needs_confidence_and_a_stable_history():
    conf = torch.tensor([[0.95, 0.95, 0.50, 0.97]])
    eligible = torch.tensor([[T, T, T, T]])
    kl = torch.tensor([[[0.001, 0.002],    # confident and stable: committed
                        [0.001, 0.300],    # confident, moved at the last step
                        [0.000, 0.000],    # stable, not confident
                        [math.inf, 0.001]]])  # no full history yet
    commit, ready, fell_back = klass_commit(conf, eligible, kl, 0.9, 0.01)
    assert where(commit) == [[0]] and ready.tolist() == [1] and not fell_back.any()
    commit, ready, fell_back = klass_commit(conf, eligible, torch.full_like(kl, math.inf), 0.9, 0.01)
    assert where(commit) == [[3]] and ready.tolist() == [0] and fell_back.all()  # top-1 by confidence
    logp = torch.log(torch.tensor([[0.5, 0.5, 0.0]]))
    assert kl_divergence(logp, logp).item() == pytest.approx(0.0)
    q = torch.log(torch.tensor([[0.25, 0.75, 0.0]]))
    assert kl_divergence(logp, q).item() == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=1e-6)
    with pytest.raises(ConfigError, match="history"):
        KlassSettings(history=0).validate()


def test_pc_calibrates_by_the_token_prior_and_prefers_the_left(tmp_path):
    p = tmp_path / "token_prior.json"
    p.write_text(json.dumps({"total": 100, "counts": {"1": 50, "2": 5}}))  # id 1 = [EOS]-like, frequent
    prior = read_prior(p, 4)
    assert prior.tolist() == pytest.approx([0.01, 0.5, 0.05, 0.01])  # unseen ids: 1 / total
    conf = torch.tensor([[0.95, 0.80, 0.0]])
    prop = torch.tensor([[1, 2, -1]])
    eligible = torch.tensor([[T, T, F]])
    s, cal = pc_scores(conf, prop, eligible, prior, lam=0.0, alpha=10.0)
    assert cal[0, :2].tolist() == pytest.approx([-0.95 * math.log(0.5), -0.8 * math.log(0.05)])
    assert s[0, 1] > s[0, 0] and s[0, 2] == -math.inf  # the rare token first, despite lower confidence
    s, _ = pc_scores(conf, prop, eligible, prior, lam=2.0, alpha=10.0)
    assert s[0, 0] > s[0, 1]  # a strong position prior: the left one first
    s, cal = pc_scores(conf, prop, eligible, prior, lam=0.0, alpha=1.0)
    assert cal[0, 1].item() == 1.0  # clipped at alpha
    with pytest.raises(ConfigError, match="alpha_clip"):
        PCSettings(alpha_clip=0).validate()


def test_infogain_actions_swap_confidences_last_pick():
    conf = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.95]])
    eligible = torch.tensor([[T, T, T, T, F]])
    actions, valid, lead = candidate_actions(conf, eligible, torch.tensor([2]), 3)
    assert [where(actions[:, j]) for j in range(3)] == [[[0, 1]], [[0, 2]], [[0, 3]]]
    assert lead.tolist() == [[1, 2, 3]] and valid.all()
    actions, valid, _ = candidate_actions(conf, eligible, torch.tensor([4]), 3)
    assert valid.tolist() == [[T, F, F]]  # only confidence's own action exists


class Oracle:
    """A fake model over {[MASK]=0, a=1, b=2}: position 2 is certain once position 0 is written,
    and uniform over {a, b} otherwise; every other position stays uniform."""
    split_head = False
    mask_id = 0
    suppressed_ids = [0]

    def embed(self, ids):
        return ids.double()

    def hidden(self, emb, attention_mask=None, active=None):
        ids = emb.long()
        logits = torch.zeros(*ids.shape, 3, dtype=torch.float64)
        known = ids[:, 0] != 0
        logits[known, 2, 1] = 20.0
        return logits


def test_infogain_prefers_the_action_that_informs_the_rest():
    ids = torch.tensor([[0, 0, 0, 0]])
    masked = ids == 0
    H = torch.full((1, 4), math.log(2))

    class Ctx:
        adapter = Oracle()
        attention_mask = None

    ctx = Ctx()
    ctx.ids, ctx.masked = ids, masked
    ctx.stats = type("S", (), {"entropy": H, "proposals": torch.ones_like(ids)})()
    conf = torch.tensor([[0.5, 0.5001, 0.5, 0.5]])  # confidence would take position 1
    actions, valid, lead = candidate_actions(conf, masked, torch.tensor([1]), 2)
    assert lead.tolist() == [[1, 0]]
    J = action_objective(ctx, actions, valid)
    # writing position 1 tells nothing: J = -H_1; writing position 0 settles position 2: J = ln 2 - H_0
    assert J[0].tolist() == pytest.approx([-math.log(2), 0.0], abs=1e-6)
    assert int(J.argmax(1)) == 1


def test_boe_veto_takes_back_the_risky_members():
    S = torch.tensor([[T, T, T, T, F]])
    keep = torch.tensor([[F, F, T, F, F]])  # the most confident member is never vetoed
    tis = torch.tensor([[0.3, -0.1, -0.5, 0.2, float("nan")]])
    assert where(tis_veto(S, tis, keep, "negative", 0.0)) == [[1]]
    assert where(tis_veto(S, tis, keep, "bottom", 0.5)) == [[1, 3]]  # 2 of 4, lowest TIS apart from the kept one
    assert where(tis_veto(S, tis, keep, "bottom", 0.2)) == [[]]
    with pytest.raises(ConfigError, match="veto"):
        BoEAdaptiveSettings(veto="all").validate()


def test_boe_gain_takes_candidates_while_their_net_entropy_fits():
    members = torch.tensor([[T, T, T, T, F]])
    conf = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.99]])
    H = torch.tensor([[0.3, 0.5, 0.4, 0.2, 0.0]])
    tis = torch.tensor([[0.0, 0.45, 0.1, 0.5, float("nan")]])
    # in confidence order: 0 free, then net costs 0.05, 0.3, -0.3 -> running sums 0.05, 0.35, 0.05
    assert where(gain_commit(conf, H, tis, members, 0.1)) == [[0, 1]]  # stops at the first overrun
    assert where(gain_commit(conf, H, tis, members, 0.36)) == [[0, 1, 2, 3]]
    assert where(gain_commit(conf, H, tis, members, 0.0)) == [[0]]


# --- in the loop -----------------------------------------------------------------------------
def test_threshold_in_the_loop_commits_what_cleared_and_says_so(tiny):
    tr = generate(tiny, "ab", gen_length=12, steps=12, policy="threshold", tau=0.2)
    for r in tr.records:
        if r.notes and "budget" in " ".join(r.notes):
            continue
        el = r.eligible[0]
        cleared = int(((r.confidence[0] >= 0.2) & el).sum())
        assert int(r.n_commit[0]) == max(cleared, 1)
        assert r.notes[0] == f"{cleared} cleared τ = 0.2"
    assert (tr.final_canvas != tiny.mask_id).all()


def _decided(tr):
    """The records whose commits the policy chose (not the final one that commits what is left)."""
    return [r for r in tr.records if not any("steps spent" in n for n in r.notes)]


def test_eb_and_klass_decode_and_klass_keeps_history_within_a_decode(tiny):
    # entropies here are ~2.3 nats: γ = 4 lets two or three go at once
    tr = generate(tiny, "ab", gen_length=10, steps=10, policy="eb", gamma_eb=4.0)
    assert max(int(r.n_commit[0]) for r in _decided(tr)) > 1
    for r in _decided(tr):  # each step commits what the EB rule picks from that step's entropies
        commit, _ = entropy_bounded_commit(torch.as_tensor(r.entropy), torch.as_tensor(r.eligible), 4.0)
        assert np.array_equal(r.chosen, commit.numpy()) and int(r.n_commit[0]) == int(commit.sum())
        assert r.notes[0].startswith(f"{int(r.n_commit[0])} fit the entropy budget γ = 4")
    tr = generate(tiny, "abc", gen_length=10, steps=10, policy="klass", tau=0.0, eps_kl=10.0, history=1)
    kl = [r.signals["kl_step"][0] for r in tr.records]
    assert np.isnan(kl[0]).all()  # no history at the first step
    assert np.isfinite(kl[1][tr.records[1].masked[0]]).all()  # the decode's own previous step
    assert int(tr.records[0].n_commit[0]) == 1 and int(tr.records[1].n_commit[0]) > 1  # stable: all ready


def test_pc_reads_its_prior_from_the_folder_the_model_was_loaded_from(tiny, tmp_path):
    """PC gets its data from the model (the folder load_model recorded), never from the repository."""
    import json

    from boe_core import load_model

    with pytest.raises(ConfigError, match="not loaded from a folder"):
        generate(tiny, "ab", gen_length=4, steps=2, policy="pc")
    tiny.model.save_pretrained(tmp_path / "m")
    tiny.tokenizer.save(tmp_path / "m")
    m = load_model(str(tmp_path / "m"))
    assert m.model_dir == str(tmp_path / "m")
    with pytest.raises(ConfigError, match="make_token_prior"):
        generate(m, "ab", gen_length=4, steps=2, policy="pc")
    V = int(m.embedding_matrix().shape[0])
    (tmp_path / "m" / "token_prior.json").write_text(json.dumps({"total": V, "counts": {str(i): 1 for i in range(V)}}))
    tr = generate(m, "ab", gen_length=4, steps=2, policy="pc")
    assert np.isfinite(tr.records[0].signals["pc_calibrated"][0][tr.records[0].masked[0]]).all()


def test_infogain_commits_its_best_action(tiny):
    tr = generate(tiny, "ab", gen_length=8, steps=8, policy="infogain", k_actions=3)
    r = tr.records[0]
    J = r.signals["ig_objective"][0]
    assert np.isfinite(J).sum() == 3 and r.n_forward == 4
    assert int(np.flatnonzero(r.chosen[0])[0]) == int(np.nanargmax(J))


def test_boe_adaptive_commits_the_set_minus_its_vetoes(tiny):
    # blocks of 4: the block's masks form the set, the other blocks' masks are the probes
    tr = generate(tiny, "ab", gen_length=12, steps=12, block_length=4, policy="boe-adaptive", tau=0.0,
                  veto="bottom", veto_frac=0.5)
    r = tr.records[0]
    S = int(r.eligible[0].sum())  # tau = 0: every eligible position clears
    assert S == 4
    assert int(r.n_commit[0]) == S - S // 2 and r.n_backward == 1
    assert f"{S} cleared τ = 0" in r.notes[0] and f"{S // 2} held back" in r.notes[1]
    last = tr.records[-1]  # the last block has nothing left to inform: no check, its set goes whole
    assert last.n_backward == 0 and "no check" in last.notes[0]


def _run_checks(tr, base_set, check):
    """Check every decided step of a boe-adaptive run: its set S (`base_set(record)`), the members
    TIS vets when S has two or more (`check(record, S)`), and what is committed.
    Returns (vetted steps, members held back)."""
    vetted = held = 0
    for r in _decided(tr):
        S = base_set(r)
        if not r.n_backward:  # nothing to vet: the set goes whole
            assert np.array_equal(r.chosen[0], S), f"step {r.step}"
            continue
        vetted += 1
        assert S.sum() >= 2 and np.array_equal(r.candidates[0], S)
        check(r, S)
        held += int(S.sum() - r.chosen[0].sum())
        assert r.notes[2] == f"{int(r.n_commit[0])} committed" and int(r.n_commit[0]) == int(r.chosen[0].sum())
    return vetted, held


def _negative_veto(r, S):
    """The members with TIS < 0 go back, never the most confident one."""
    keep = int(np.argmax(np.where(S, r.confidence[0], -np.inf)))
    vetoed = S & (np.nan_to_num(r.tis[0]) < 0)
    vetoed[keep] = False
    assert np.array_equal(r.chosen[0], S & ~vetoed), f"step {r.step}"
    assert r.notes[1] == f"{int(vetoed.sum())} held back (TIS < 0)"


def test_boe_adaptive_in_the_loop_with_its_default_negative_veto(tiny):
    tr = generate(tiny, "ab", gen_length=12, steps=12, block_length=4, policy="boe-adaptive", tau=0.0)
    assert tr.config["settings"]["veto"] == "negative"
    vetted, held = _run_checks(tr, lambda r: r.eligible[0] & (r.confidence[0] >= 0.0), _negative_veto)
    assert vetted >= 2 and held >= 1


def test_boe_adaptive_in_the_loop_with_the_eb_base(tiny):
    tr = generate(tiny, "ab", gen_length=12, steps=12, block_length=4, policy="boe-adaptive", base="eb",
                  gamma_eb=4.0)

    def eb_set(r):
        return entropy_bounded_commit(torch.as_tensor(r.entropy), torch.as_tensor(r.eligible), 4.0)[0].numpy()[0]

    vetted, held = _run_checks(tr, eb_set, _negative_veto)
    assert vetted >= 2 and held >= 1
    assert any(r.notes[0].endswith("fit γ = 4") for r in tr.records if r.n_backward)


def test_boe_adaptive_in_the_loop_with_the_gain_base(tiny):
    """base = gain: the top-r by confidence, taken while Σ(H − TIS) past the first fits γ."""
    tr = generate(tiny, "ab", gen_length=12, steps=12, block_length=4, policy="boe-adaptive", base="gain",
                  gamma_eb=4.0, r=8)

    def top_r(r):
        conf = np.where(r.eligible[0], r.confidence[0], -np.inf)
        S = np.zeros_like(r.eligible[0])
        S[np.argsort(-conf, kind="stable")[:min(8, int(r.eligible[0].sum()))]] = True
        return S

    def gain(r, S):
        taken = gain_commit(torch.as_tensor(r.confidence), torch.as_tensor(r.entropy), torch.as_tensor(r.tis),
                            torch.as_tensor(S[None]), 4.0).numpy()[0]
        assert np.array_equal(r.chosen[0], taken), f"step {r.step}"
        assert "past the budget: Σ(H − TIS) > γ = 4" in r.notes[1]

    vetted, held = _run_checks(tr, top_r, gain)
    assert vetted >= 2 and held >= 1
    assert max(int(r.n_commit[0]) for r in tr.records if r.n_backward) > 1  # the budget took more than one


def test_boe_adaptive_says_none_cleared_tau_when_none_did(tiny):
    tr = generate(tiny, "ab", gen_length=6, steps=6, policy="boe-adaptive", tau=0.9)
    r = tr.records[0]
    assert not (r.eligible[0] & (r.confidence[0] >= 0.9)).any()  # this random model is never that sure
    assert int(r.n_commit[0]) == 1  # its most confident token goes alone, as the threshold sampler's would
    assert r.notes[0].startswith("0 cleared τ = 0.9")


def test_the_step_view_says_how_many_and_why(tiny):
    from app import status

    tr = generate(tiny, "ab", gen_length=8, steps=8, policy="threshold", tau=0.2)
    s = status.step_summary(tr, 0)
    assert len(s["commits"]) == int(tr.records[0].n_commit[0])
    assert s["notes"][0].endswith("cleared τ = 0.2")
    assert "cleared τ = 0.2" in status.status_html(tr, 0)


def test_the_shipped_models_have_their_priors():
    from boe_core.models import ASSETS_MODELS, load_model

    for name in ("sudoku", "sudoku6", "reasoning", "kjv"):
        V = load_model(name).embedding_matrix().shape[0]
        f = read_prior(ASSETS_MODELS / name / "token_prior.json", V)
        assert f.shape == (V,) and 0.99 < float(f.sum()) < 1.01 + V / 1e4, name


@pytest.mark.parametrize("policy,kw", [("threshold", dict(tau=0.3)), ("eb", dict(gamma_eb=0.5)),
                                       ("klass", dict(tau=0.2, eps_kl=0.5, history=1)),
                                       ("boe-adaptive", dict(tau=0.2, veto="bottom"))])
def test_adaptive_decodes_do_not_depend_on_the_batch(tiny, policy, kw):
    rows = []
    for p in ("ab", "ca", "jj"):
        ids = tiny.tokenizer.encode(p) + [tiny.mask_id] * 10
        rows.append(torch.tensor(ids))
    canvas = torch.stack(rows)
    together = generate(tiny, canvas=canvas, steps=10, block_length=5, policy=policy, **kw).final_canvas
    alone = [generate(tiny, canvas=canvas[i:i + 1], steps=10, block_length=5, policy=policy, **kw).final_canvas[0]
             for i in range(3)]
    assert (together == np.stack(alone)).all()
