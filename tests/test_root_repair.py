"""root_repair: the suspect takes its runner-up (its old token banned), the later commits are decoded
again by the run's policy, rounds are kept by the rule asked for, and every forward is counted."""
import math

import numpy as np
import pandas as pd
import pytest

from boe_core import ConfigError, generate
from boe_core.bench.repair import parse_decoder, parse_variant, summarise
from boe_core.counterfactuals import commits_of, runner_up
from boe_core.repair import RepairSettings, finder_cost, grouped_pll, root_repair


@pytest.fixture(scope="module")
def run(tiny):
    return generate(tiny, "ab", gen_length=10, steps=5, policy="confidence")


def lowest(run, row=0):
    cm = commits_of(run, row)
    return min(cm, key=lambda c: (float(run.records[c[0]].confidence[row, c[1]]), c))


def test_suspect_takes_its_runner_up_and_later_commits_are_redecoded(tiny, run):
    rep = root_repair(tiny, run, finder="lowest-confidence", accept="always", gate=1.0, rounds=1)
    (r,) = rep.rounds
    s, p = lowest(run)
    tok, _, alt, _ = runner_up(run, s, p)
    assert (r.step, r.position, r.old) == (s, p, tok)
    assert r.new == alt != tok and rep.final[p] == alt  # the old token did not come back
    later = sorted(q for st, q in commits_of(run) if st > s and q != p)
    assert r.remasked == later  # dependents="later-all": every commit after the suspect's step
    assert r.accepted
    untouched = np.setdiff1d(np.arange(run.final_canvas.shape[1]), [p, *later])
    assert np.array_equal(rep.final[untouched], run.final_canvas[0, untouched])
    assert (rep.final != tiny.mask_id).all()


def test_forwards_are_counted(tiny, run):
    # lowest-confidence is free; each round's re-decode runs at the run's own rate (10 tokens / 5 steps)
    rep = root_repair(tiny, run, finder="lowest-confidence", accept="always", gate=1.0, rounds=4)
    assert any(r.remasked for r in rep.rounds)
    for r in rep.rounds:  # nothing to re-decode after a last-step suspect: no forward
        assert r.forwards == math.ceil(len(r.remasked) / 2) and r.backwards == 0
    assert (rep.forwards, rep.backwards) == (sum(r.forwards for r in rep.rounds), 0)
    # grad-likelihood re-reads the run's T canvases: T forwards and T backwards per sequence;
    # pll reads the canvas once, then once per round, in `groups` masked copies
    g = root_repair(tiny, run, finder="grad-likelihood", accept="pll", groups=3, rounds=2)
    T = run.num_steps
    assert finder_cost("grad-likelihood", run, 0) == (T, T)
    # the read-back finder pays every branch's continuation and a grouped read of each end and the run's
    from boe_core.counterfactuals import commits_of, estimate_forwards
    M = len(commits_of(run, 0))
    assert finder_cost("counterfactual-reread", run, 0) == (estimate_forwards(run, 0)["sequence_forwards"] + 6 * (M + 1), 0)
    assert g.backwards == T
    assert g.forwards == T + 3 + sum(x.forwards for x in g.rounds)
    assert all(x.forwards >= 3 for x in g.rounds)
    assert g.forward_equivalents(1.5) == pytest.approx(g.forwards + 1.5 * T)


def test_rejected_rounds_leave_the_canvas(tiny, run):
    rep = root_repair(tiny, run, finder="lowest-confidence", accept="likelihood", rounds=3, gate=1.0)
    assert len(rep.rounds) == 3
    assert [r.accepted for r in rep.rounds] == [r.delta > 0 for r in rep.rounds]
    if not any(r.accepted for r in rep.rounds):
        assert np.array_equal(rep.final, run.final_canvas[0]) and not rep.changed
    assert len({r.position for r in rep.rounds}) == 3  # each round its own suspect


def test_pll_acceptance_keeps_only_a_more_believed_canvas(tiny, run):
    rep = root_repair(tiny, run, finder="lowest-confidence", accept="pll", rounds=3)
    decoded = ~run.fixed[0]
    before, _ = grouped_pll(tiny, run.final_canvas[0], decoded, None, 6)
    after, _ = grouped_pll(tiny, rep.final, decoded, None, 6)
    assert after >= before - 1e-6
    assert rep.changed == any(r.accepted for r in rep.rounds)


def test_without_ban_the_suspect_is_decoded_again(tiny, run):
    rep = root_repair(tiny, run, finder="lowest-confidence", accept="always", ban=False, gate=1.0, rounds=1)
    (r,) = rep.rounds
    assert rep.final[r.position] != tiny.mask_id
    assert r.forwards == math.ceil((len(r.remasked) + 1) / 2)


def test_gate_skips_a_run_the_model_does_not_doubt(tiny, run):
    rep = root_repair(tiny, run, gate=1e-30)
    assert rep.rounds == [] and not rep.changed
    assert (rep.forwards, rep.backwards) == (6, 0)  # the grouped read only, no finder


def test_weights_stay_without_grad(tiny, run):
    root_repair(tiny, run, finder="grad-likelihood", rounds=1)
    assert all(p.grad is None and not p.requires_grad for p in tiny.model.parameters())


@pytest.mark.parametrize("field,value", [("rounds", 0), ("rounds", 1.5), ("finder", "counterfactual"),
                                         ("dependents", "all"), ("accept", "maybe"), ("min_drop", -1.0),
                                         ("groups", 0), ("gate", 0.0), ("ban", "yes")])
def test_bad_settings_name_field_and_value(tiny, run, field, value):
    with pytest.raises(ConfigError) as e:
        root_repair(tiny, run, **{field: value})
    assert e.value.field == field and e.value.value == value


def test_bad_row(tiny, run):
    with pytest.raises(ConfigError, match="row"):
        root_repair(tiny, run, row=3)


def test_defaults_are_the_validation_choice():
    s = RepairSettings()
    assert (s.finder, s.accept, s.dependents, s.ban) == ("lowest-confidence", "pll", "later-all", True)
    assert s.gate < 1


def test_bench_variants_and_paired_summary():
    assert parse_variant("finder=grad-likelihood,rounds=3").rounds == 3
    assert parse_decoder("confidence@54", 24) == ("confidence", 54)
    with pytest.raises(ConfigError, match="rounds"):
        parse_variant("rounds=0")
    with pytest.raises(ConfigError) as e:
        parse_variant("nope=1")
    assert e.value.value == "nope"
    df = pd.DataFrame([{"idx": i, "decoder": d, "solved": s, "forwards": f, "backwards": b, "seconds": 0.1}
                       for i in range(4)
                       for d, s, f, b in (("base", i < 1, 24, 0), ("rep", i < 3, 30, 2))])
    out = summarise(df, 2.0, ["base"]).set_index("decoder")
    assert out.loc["rep", "rate"] == 0.75 and out.loc["rep", "fwd_equiv"] == 34.0
    assert out.loc["rep", "vs base"].startswith("+2 / −0")


def test_a_run_decoded_in_blocks_is_repaired_inside_its_blocks(tiny):
    """The cells repair takes back are scattered; a run decoded in blocks re-decodes them block by
    block, in the run's order and inside its boundaries, at the run's commit rate."""
    from boe_core import DecodeConfig
    from boe_core.repair import _redecode

    blocked = generate(tiny, "ab", gen_length=10, steps=5, policy="confidence", block_length=5)
    blocks = [tuple(b) for b in blocked.schedule["blocks"]]
    assert len(blocks) == 2
    canvas = blocked.final_canvas[0].copy()
    (s0, e0), (s1, e1) = blocks
    canvas[[s0 + 1, s0 + 3]] = tiny.mask_id  # two cells of the first block, all of the second
    canvas[s1:e1] = tiny.mask_id
    cfg = DecodeConfig.from_dict(blocked.config)
    records = _redecode(tiny, canvas, None, cfg, rate=2.0, n=7, blocks=blocks)
    assert len(records) == 1 + 3  # ceil(2 / 2) steps in the first block, ceil(5 / 2) in the second
    for r in records:
        first_open = (r.canvas_before[0, s0:e0] == tiny.mask_id).any()
        assert not (first_open and r.chosen[0, s1:e1].any())  # the second block waits for the first
    assert (records[-1].canvas_after[0] != tiny.mask_id).all()
    rep = root_repair(tiny, blocked, finder="lowest-confidence", accept="always", gate=1.0, rounds=1)
    assert len(rep.rounds) == 1 and (rep.final != tiny.mask_id).all()
    # re-decoding as one region stays possible, by passing a config without blocks
    one = root_repair(tiny, blocked, config=cfg.replace(block_length=None), finder="lowest-confidence",
                      accept="always", gate=1.0, rounds=1)
    assert (one.final != tiny.mask_id).all()


def test_plan_in_blocks_keeps_the_blocks_with_masks():
    import torch

    from boe_core.schedule import plan_in_blocks

    masked = torch.zeros(2, 12, dtype=torch.bool)
    masked[0, [1, 2]] = True  # block 0: row 0 has 2 masks, row 1 none
    masked[:, 8:12] = True  # block 2: 4 masks in each row; block 1 has none
    sch = plan_in_blocks(masked, [(0, 4), (4, 8), (8, 12)], rate=2)
    assert sch.blocks == [(0, 4), (8, 12)] and sch.step_block == [0, 1, 1]
    assert sch.counts.tolist() == [[2, 2, 2], [0, 2, 2]]
    with pytest.raises(ConfigError):
        plan_in_blocks(masked, [(0, 12)], rate=0)


def test_counterfactual_top_as_repairs_finder_counts_its_branches(tiny, run):
    from boe_core.roots import ROOT_FINDERS

    scores = ROOT_FINDERS.get("counterfactual-top").score(tiny, run)
    T = run.num_steps
    per_step = [r.n_forward for r in run.records]
    exact = [s for (s, _), v in zip(commits_of(run), scores) if v > -1e11]
    assert len(exact) == min(12, len(commits_of(run)))
    assert finder_cost("counterfactual-top", run, 0, scores) == (T + sum(sum(per_step[s + 1:]) for s in exact), T)
    rep = root_repair(tiny, run, finder="counterfactual-top", accept="always", gate=1.0, rounds=1)
    assert rep.rounds and rep.backwards == T
