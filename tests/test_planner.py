"""The planner policy and its head's recipe (issue #29): the symmetric views, the policy's commits
(τ first, then the best-believed proposal), its cost, its refusals, the head read as the recipe's
bare loop reads it, and the recipe's oracle walk, loss, resume and export."""
import json
import shutil

import numpy as np
import pytest
import torch

from boe_core import generate, load_model, train
from boe_core.errors import ConfigError
from boe_core.models.tiny_mdm import TinyMDM
from boe_core.paths import data_dir, models_dir
from boe_core.policies.planner import PlannerSettings
from boe_core.tasks import sudoku as S
from boe_core.tasks.sudoku.symmetry import MAX_VIEWS, view_log_probs, views
from boe_core.train.recipes import sudoku_planner as SP


@pytest.fixture(scope="module")
def sudoku():
    return load_model("sudoku")


def _hard_rows(n):
    lines = (data_dir() / "sudoku" / "hard_val.jsonl").read_text().splitlines()
    return [json.loads(s) for s in lines[:n]]


def _canvas(adapter, n):
    return torch.stack([S.puzzle_to_canvas(r["puzzle"], adapter.tokenizer)[0] for r in _hard_rows(n)])


def test_every_view_keeps_a_grid_valid_and_reads_back_to_its_cells():
    sol = _hard_rows(1)[0]["solution"]
    assert len(views()) == MAX_VIEWS and len({v.src for v in views()}) == MAX_VIEWS
    for v in views():
        moved = "".join(str(v.digit_map[int(sol[j])]) for j in v.src)
        assert S.verify(moved).ok and moved != sol
    tok = S.sudoku_tokenizer()
    digits = torch.tensor(S.digit_ids(tok))
    ids = S.puzzle_to_canvas(sol, tok)[0][None]
    # a reader that is sure of whatever digit each cell of its input holds: mapped back, every view
    # must be sure of the canvas's own digit at the canvas's own cell
    reader = lambda x: torch.nn.functional.one_hot(x, tok.vocab_size).float() * 20  # noqa: E731
    lp = view_log_probs(reader, ids, digits, 5)
    assert lp.shape == (5, 1, 81, 9)
    want = torch.tensor([int(ch) - 1 for ch in sol])
    assert torch.equal(lp.argmax(-1), want.expand(5, 1, 81))


def test_without_views_it_is_a_strict_threshold_with_confidences_pick(sudoku):
    tr = generate(sudoku, canvas=_canvas(sudoku, 2), policy="planner", steps=81, seed=0, views=0)
    asked = 0
    for rec in tr.records:
        for r in range(2):
            if not rec.eligible[r].any():
                continue
            sure = rec.eligible[r] & (rec.confidence[r] >= 0.99)
            if sure.any():
                assert np.array_equal(rec.chosen[r], sure)
            else:
                asked += 1
                assert np.array_equal(rec.chosen[r], rec.signals["confidence_pick"][r])
        assert rec.n_forward == 1
    assert asked > 0


def test_views_pick_the_proposal_they_believe_most_and_each_costs_a_forward(sudoku):
    canvas = _canvas(sudoku, 2)
    tr = generate(sudoku, canvas=canvas, policy="planner", steps=81, seed=0, views=2)
    digits = torch.tensor(S.digit_ids(sudoku.tokenizer))
    col = {int(t): i for i, t in enumerate(digits)}
    checked = 0
    for rec in tr.records:
        if "planner_score" not in rec.signals:
            assert rec.n_forward == 1
            continue
        assert rec.n_forward == 3
        ids = torch.as_tensor(rec.canvas_before)
        with torch.no_grad():
            own = sudoku.logits(ids)[..., digits].float().log_softmax(-1)[None]
            mean = torch.cat([own, view_log_probs(sudoku.logits, ids, digits, 2)]).double().mean(0)
        for r in range(2):
            sig = rec.signals["planner_score"][r]
            if not np.isfinite(sig).any():
                continue
            for p in np.flatnonzero(np.isfinite(sig)):
                assert sig[p] == pytest.approx(float(mean[r, p, col[int(rec.proposals[r][p])]]), abs=1e-4)
            assert rec.chosen[r][int(np.nanargmax(sig))] and int(rec.n_commit[r]) == 1
            checked += 1
    assert checked > 0


def test_the_head_decodes_as_the_recipes_bare_loop(tmp_path):
    src = models_dir() / "sudoku"
    path = tmp_path / "sudoku"
    shutil.copytree(src, path, ignore=shutil.ignore_patterns("planner"))
    copy = TinyMDM.from_pretrained(src)
    w = copy.blocks[-1].mlp[2].weight
    with torch.no_grad():  # a copy that differs from the model, so its order differs from confidence's
        w.add_(torch.randn(w.shape, generator=torch.Generator().manual_seed(0)) * 0.05)
    copy.save_pretrained(path / "planner")
    adapter = load_model(str(path))
    canvas = _canvas(adapter, 3)
    tr = generate(adapter, canvas=canvas, policy="planner", steps=81, seed=0, views=0, head=True)
    tok = adapter.tokenizer
    fm = SP.FrozenModel(TinyMDM.from_pretrained(path), tok.mask_id, torch.tensor(S.digit_ids(tok)))
    x, fwd, heads = SP.planner_decode(fm, TinyMDM.from_pretrained(path / "planner"), canvas, 0.99)
    assert int(heads.sum()) > 0
    assert torch.equal(torch.as_tensor(tr.final_canvas), x)
    assert sum(r.n_forward for r in tr.records) == len(tr.records) + sum("planner_score" in r.signals for r in tr.records)


def test_refusals_name_the_knob(sudoku, tiny_sudoku_dir):
    kjv_like = load_model(str(tiny_sudoku_dir))  # a sudoku model without a head
    canvas = _canvas(kjv_like, 1)
    with pytest.raises(ConfigError, match="no planner head"):
        generate(kjv_like, canvas=canvas, policy="planner", steps=10, seed=0, head=True)
    from boe_core import TinyMDMAdapter

    text = TinyMDMAdapter.random(seed=0)
    with pytest.raises(ConfigError, match="views.*Sudoku"):
        generate(text, "abc", gen_length=6, steps=3, policy="planner")
    generate(text, "abc", gen_length=6, steps=3, policy="planner", views=0)  # works on any model
    with pytest.raises(ConfigError, match="tau"):
        PlannerSettings(tau=0.2).validate()
    with pytest.raises(ConfigError, match="views"):
        PlannerSettings(views=17).validate()


def test_loss_rewards_a_right_top_and_ignores_committed_cells():
    masked = torch.tensor([[True, True, True, False]])
    right = torch.tensor([[False, True, False, True]])
    good = torch.tensor([[-5.0, 5.0, -5.0, 0.0]])
    bad = torch.tensor([[5.0, -5.0, -5.0, 0.0]])
    lo_good, top_good = SP.planner_loss(good, right, masked)
    lo_bad, top_bad = SP.planner_loss(bad, right, masked)
    assert lo_good < 0.05 < 5.0 < lo_bad
    assert (top_good, top_bad) == (1.0, 0.0)
    assert torch.allclose(SP.planner_loss(good + torch.tensor([[0, 0, 0, 9.0]]), right, masked)[0], lo_good)


def test_walk_records_only_uncertain_states_on_a_right_path():
    tok = S.sudoku_tokenizer()
    fm = SP.FrozenModel(TinyMDM.from_pretrained(models_dir() / "sudoku"), tok.mask_id, torch.tensor(S.digit_ids(tok)))
    rows = _hard_rows(4)
    canvas = torch.stack([S.puzzle_to_canvas(r["puzzle"], tok)[0] for r in rows])
    target = S.digit_lookup(tok)[torch.tensor([S.parse_grid(r["solution"]) for r in rows])]
    states, idx = SP.walk_uncertain_states(fm, canvas, target, 0.99, 0.5, torch.Generator().manual_seed(0))
    assert len(states) > 0
    decided = states != tok.mask_id
    assert torch.equal(states[decided], target[idx][decided])  # every committed cell is the solution's
    probs, m = fm(states)
    assert not bool((m & (probs.max(-1).values >= 0.99)).any())  # no masked cell clears τ


def test_recipe_trains_resumes_and_exports(tiny_sudoku_dir, tmp_path):
    run = tmp_path / "run"
    flags = ["sudoku-planner", "--model", str(tiny_sudoku_dir), "--run-dir", str(run), "--batch-size", "4",
             "--walk-puzzles", "2", "--refresh-every", "2", "--pool-size", "16", "--min-clues", "40",
             "--max-clues", "42", "--eval-n", "2", "--log-every", "1", "--tau", "0.5"]
    assert train.main(flags + ["--steps", "3"]) == 0
    assert train.main(flags + ["--steps", "5", "--resume"]) == 0
    info = json.loads((run / "export" / "training_info.json").read_text())
    assert info["steps"] == 5 and info["params"] == TinyMDM.from_pretrained(run / "export").num_parameters()
    assert "val_solve_rate" in info["last"] and "val_head_top1_right" in info["last"]
    assert "resume at step 3" in (run / "train.log").read_text()
    assert train.main(["sudoku-planner", "--tau", "0", "--steps", "1", "--run-dir", str(tmp_path / "bad")]) == 2
