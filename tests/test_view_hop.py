"""View-hop and restarts (issue #29): a row read in its own view maps back to the canvas, a sure
view's cells are committed with that view's digits, a guess follows the planner's rule, each view
costs a forward, a policy's own tokens reach the canvas, and restarts decode again only the rows
whose grid the model doubts."""
import json

import numpy as np
import pytest
import torch

from boe_core import generate, load_model
from boe_core.errors import ConfigError
from boe_core.paths import data_dir
from boe_core.policies import POLICIES, Policy, PolicyResult, register
from boe_core.policies.view_hop import ViewHopSettings
from boe_core.readback import grouped_reads, grouped_reads_rows
from boe_core.restarts import first_guess_canvas, restart
from boe_core.tasks import sudoku as S
from boe_core.tasks.sudoku.symmetry import MAX_VIEWS, read_in_views, view_log_probs


@pytest.fixture(scope="module")
def sudoku():
    return load_model("sudoku")


def _rows(n):
    lines = (data_dir() / "sudoku" / "hard_val.jsonl").read_text().splitlines()
    return [json.loads(s) for s in lines[:n]]


def _canvas(adapter, n):
    return torch.stack([S.puzzle_to_canvas(r["puzzle"], adapter.tokenizer)[0] for r in _rows(n)])


def test_each_row_read_in_its_own_view_maps_back_to_its_cells_and_digits():
    tok = S.sudoku_tokenizer()
    digits = torch.tensor(S.digit_ids(tok))
    sols = [r["solution"] for r in _rows(3)]
    ids = torch.stack([S.puzzle_to_canvas(s, tok)[0] for s in sols])
    reader = lambda x: torch.nn.functional.one_hot(x, tok.vocab_size).float() * 20  # noqa: E731  sure of its input
    which = torch.tensor([3, 0, MAX_VIEWS - 1])
    lp = read_in_views(reader, ids, digits, which)
    want = torch.tensor([[int(ch) - 1 for ch in s] for s in sols])
    assert torch.equal(lp.argmax(-1), want)
    # the batched reading of the first k views is the same function, row by row
    model_like = lambda x: torch.sin(x[..., None].float() * torch.arange(tok.vocab_size) + x.sum(1)[:, None, None])  # noqa: E731
    all_views = view_log_probs(model_like, ids, digits, 4)
    for k in range(4):
        assert torch.allclose(all_views[k], read_in_views(model_like, ids, digits, torch.full((3,), k)))


def test_sure_views_commit_their_own_digits_and_guesses_follow_the_mean(sudoku):
    canvas = _canvas(sudoku, 3)
    tr = generate(sudoku, canvas=canvas, policy="view-hop", steps=81, seed=0)
    digits = torch.tensor(S.digit_ids(sudoku.tokenizer))
    hopped = guessed = 0
    for rec in tr.records:
        if "hop_view" not in rec.signals:
            assert rec.n_forward == 1
            for r in range(3):
                sure = rec.eligible[r] & (rec.confidence[r] >= 0.99)
                assert np.array_equal(rec.chosen[r], sure) or not rec.eligible[r].any()
            continue
        assert rec.n_forward == 2  # hops = 1: one view read
        hv = rec.signals["hop_view"]
        for r in range(3):
            if not np.isfinite(hv[r]).any():
                continue
            ids = torch.as_tensor(rec.canvas_before[r:r + 1])
            filled = int((ids != sudoku.mask_id).sum())
            with torch.no_grad():
                lp = read_in_views(sudoku.logits, ids, digits, torch.tensor([filled % MAX_VIEWS]))[0]
            if (hv[r] > 0).any():  # a sure view: exactly its cells at >= tau, with its digits
                assert set(np.unique(hv[r][np.isfinite(hv[r])])) == {filled % MAX_VIEWS + 1}
                sure = rec.eligible[r] & (lp.max(-1).values.exp().numpy() >= 0.99)
                assert np.array_equal(rec.chosen[r], sure)
                want = digits[lp.argmax(-1)].numpy()
                assert np.array_equal(rec.canvas_after[r][sure], want[sure])
                hopped += 1
            else:  # no view sure: one cell, the planner's rule over the canvas and the view
                score = rec.signals["planner_score"][r]
                assert int(rec.n_commit[r]) == 1 and rec.chosen[r][int(np.nanargmax(score))]
                assert rec.canvas_after[r][int(np.nanargmax(score))] == rec.proposals[r][int(np.nanargmax(score))]
                guessed += 1
    assert hopped > 0 and guessed > 0
    assert (np.asarray(tr.final_canvas) != sudoku.mask_id).all()


def test_view_hop_refuses_other_models_and_bad_knobs():
    from boe_core import TinyMDMAdapter

    text = TinyMDMAdapter.random(seed=0)
    with pytest.raises(ConfigError, match="hops.*Sudoku"):
        generate(text, "abc", gen_length=6, steps=3, policy="view-hop")
    for bad in ({"tau": 0.3}, {"hops": 0}, {"hops": 17}, {"offset": 16}, {"offset": 1.5}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ViewHopSettings(**bad).validate()


def test_a_policys_own_tokens_reach_the_canvas_and_bad_shapes_are_refused():
    from boe_core import TinyMDMAdapter

    class Writes7(Policy):
        name = "test-writes-7"

        def score(self, ctx):
            return PolicyResult(ctx.stats.confidence.double(), torch.zeros(ctx.ids.shape[0], dtype=torch.bool),
                                tokens=torch.full_like(ctx.ids, 7) if self.ok else torch.zeros(1, dtype=torch.long))

    p = Writes7()
    register(p)
    try:
        m = TinyMDMAdapter.random(seed=0)
        p.ok = True
        tr = generate(m, "ab", gen_length=4, steps=2, policy=p.name)
        decoded = tr.records[0].masked[0]
        assert (np.asarray(tr.final_canvas)[0][decoded] == 7).all()
        p.ok = False
        with pytest.raises(ValueError, match="tokens has shape"):
            generate(m, "ab", gen_length=4, steps=2, policy=p.name)
    finally:
        POLICIES.unregister(p.name)


def test_grouped_reads_of_each_row_match_the_shared_reading(sudoku):
    canvas = _canvas(sudoku, 2)
    tr = generate(sudoku, canvas=canvas, policy="threshold", steps=81, seed=0)
    final = np.asarray(tr.final_canvas)
    decoded = (canvas == sudoku.mask_id).numpy()
    rows = grouped_reads_rows(sudoku, final, decoded, None, 4)
    for i in range(2):
        shared = grouped_reads(sudoku, final[i:i + 1], decoded[i], None, 4)[0]
        assert np.allclose(rows[i][decoded[i]], shared, atol=1e-5)
        assert np.isnan(rows[i][~decoded[i]]).all()


def test_restarts_redo_only_doubted_rows_and_keep_the_grid_believed_most(sudoku):
    canvas = _canvas(sudoku, 6)
    one = restart(sudoku, canvas, policy="view-hop", steps=81, attempts=1)
    plain = generate(sudoku, canvas=canvas, policy="view-hop", steps=81, seed=0)
    assert np.array_equal(one.final, np.asarray(plain.final_canvas)) and (one.attempts == 1).all()
    two = restart(sudoku, canvas, policy="view-hop", steps=81, attempts=2, gate=0.999)
    again = np.flatnonzero(two.attempts == 2)
    assert len(again) and np.array_equal(two.rows[1], again)
    assert np.all(np.exp(one.read_min[two.attempts == 1]) >= 0.999)  # kept at once only when believed
    assert np.all(two.read_sum >= one.read_sum - 1e-4)  # never keeps a grid it believes less
    assert np.all(two.forwards[again] > one.forwards[again])
    # a restart starts where the row's first guess was made: every earlier commit is kept
    start = first_guess_canvas(two.traces[0], canvas.numpy())
    first = two.traces[1].initial_canvas
    assert np.array_equal(first, start[again])
    assert ((first != sudoku.mask_id).sum(1) >= (canvas.numpy()[again] != sudoku.mask_id).sum(1)).all()


def test_restarts_check_their_settings(sudoku):
    canvas = _canvas(sudoku, 1)
    for bad, knob in (({"attempts": 0}, "attempts"), ({"groups": 0}, "groups"), ({"gate": 1.5}, "gate"),
                      ({"stride": 0}, "stride")):
        with pytest.raises(ConfigError, match=knob):
            restart(sudoku, canvas, policy="view-hop", steps=81, **bad)
    with pytest.raises(ConfigError, match="offset"):
        restart(sudoku, canvas, policy="threshold", steps=81, attempts=2)
    assert restart(sudoku, canvas, policy="threshold", steps=81, attempts=1).attempts.tolist() == [1]


def test_the_cli_decodes_a_puzzle_with_restarts_and_refuses_what_it_cannot(capsys):
    from boe_core.cli import main

    puzzle = _rows(1)[0]["puzzle"]
    assert main(["generate", "--model", "sudoku", "--policy", "view-hop", "--steps", "81", "--puzzle", puzzle,
                 "--restarts", "2", "--quiet"]) == 0
    out, err = capsys.readouterr()
    grid = out.strip().splitlines()[-1]
    assert len(grid) == 81 and all(p in ("0", g) for p, g in zip(puzzle, grid)) and "decode(s)" in err
    assert main(["generate", "--model", "sudoku", "--policy", "view-hop", "--prompt", "12", "--restarts", "2"]) != 0
    assert "--restarts" in capsys.readouterr().err
    assert main(["generate", "--model", "sudoku", "--policy", "view-hop", "--steps", "81", "--puzzle", puzzle,
                 "--restarts", "2", "--trace", "x.json"]) != 0
    assert "--trace" in capsys.readouterr().err
