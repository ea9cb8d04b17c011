"""The reasoning-text task family: generators, splits, checkers and the RoPE TinyMDM they train."""
import pytest
import torch

from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig, mdm_loss
from boe_core.tasks.arith_cot import ArithCoTTask
from boe_core.tasks.countdown import CountdownTask, evaluate
from boe_core.tasks.reasoning import all_tasks, batch, get_task, reasoning_tokenizer
from boe_core.tasks.sudoku4 import count_solutions, parse
from boe_core.tasks.sudoku6 import SHAPE as SHAPE6, solve_by_singles


def test_every_reference_answer_checks_and_fits_the_canvas():
    tok = reasoning_tokenizer()
    for t in all_tasks():
        for ex in t.split("val", 50):
            assert t.check(ex, ex.answer).correct, (t.name, ex)
            ids, a0 = t.encode(tok, ex, with_answer=True)
            assert len(ids) - a0 == t.gen_length
            assert t.decode_answer(tok, ids[a0:]) == ex.answer


def test_splits_are_fixed_and_disjoint_by_seed():
    t = get_task("countdown")
    assert [e.prompt for e in t.split("val", 20)] == [e.prompt for e in t.split("val", 20)]
    assert [e.prompt for e in t.split("val", 20)] != [e.prompt for e in t.split("test", 20)]


def test_generators_keep_their_documented_layouts():
    """sudoku4: minimal puzzles (one solution, and every clue needed); countdown: single-digit numbers, so the answer's layout is
    fixed; arith-cot: two-digit numbers, and no step repeats the last result."""
    assert count_solutions({}, limit=1000) == 288  # every solved 4x4 grid
    for ex in get_task("sudoku4").split("val", 40):
        puz = parse(ex.prompt)
        clues = {(r, c): puz[r][c] for r in range(4) for c in range(4) if puz[r][c]}
        assert count_solutions(clues) == 1 and 4 <= len(clues) <= 6, ex.prompt
        assert all(count_solutions({k: v for k, v in clues.items() if k != cell}) > 1 for cell in clues)
    for ex in get_task("countdown").split("val", 40):
        assert all(1 <= n <= 9 for n in ex.meta["numbers"]) and len(ex.answer) == 2 * len(ex.meta["numbers"]) - 1
    for ex in get_task("arith-cot").split("val", 40):
        first, *rest = ex.meta["chain"]
        assert len(first) == 9 and all(len(s) == 7 and s[0] in "+-*" for s in rest)
        assert ex.answer.endswith(f"Answer: {ex.meta['value']:02d}")


def test_countdown_checker_accepts_any_correct_equation_and_blames_bad_numbers():
    t = CountdownTask()
    ex = t.generate(__import__("random").Random(3))
    ex.meta = {"numbers": [3, 5, 2], "target": 13}
    assert t.check(ex, "3+5*2").correct
    assert t.check(ex, "2*5+3").correct
    bad = t.check(ex, "3+5*7")
    assert not bad.correct and bad.wrong_chars == [4]
    assert not t.check(ex, "3+5+2").correct  # 10, not 13
    assert not t.check(ex, "3*5").correct  # 2 unused
    assert evaluate("(1+2)*3") == 9


def test_sudoku6_puzzles_are_forced_by_singles_and_tile_into_d1_blocks():
    """Every sudoku6 puzzle fills by singles alone (so it has one solution, the reference), its
    singles-needed core is minimal before 0-6 clues are given back, and the clue counts spread."""
    t = get_task("sudoku6")
    counts = []
    for ex in t.split("val", 40):
        puz = SHAPE6.parse(ex.prompt)
        clues = {(r, c): puz[r][c] for r in range(6) for c in range(6) if puz[r][c]}
        filled = solve_by_singles(clues)
        assert filled is not None and SHAPE6.to_text([[filled[(r, c)] for c in range(6)] for r in range(6)]) == ex.answer
        counts.append(len(clues))
    assert 9 <= min(counts) and max(counts) <= 18 and len(set(counts)) >= 5, counts
    assert t.gen_length % 24 == 0 and len(ex.answer) == 41
    # singles stall on an empty grid, and a contradiction is None rather than a wrong fill
    assert solve_by_singles({}) is None and solve_by_singles({(0, 0): 1, (0, 1): 1}) is None


def test_checkers_rebuild_an_example_from_a_typed_prompt():
    assert get_task("countdown").from_prompt("3 5 2=13").meta == {"numbers": [3, 5, 2], "target": 13}
    assert get_task("countdown").from_prompt("three=13") is None
    s6 = get_task("sudoku6").example("val", 2)
    assert get_task("sudoku6").check(get_task("sudoku6").from_prompt(s6.prompt), s6.answer).correct
    assert get_task("arith-cot").from_prompt("Mia has 3 eggs.") is None
    # clues that are not a grid of the task's shape cannot be checked (the checker would index None)
    assert get_task("sudoku4").from_prompt("1.3./..21") is None and get_task("sudoku6").from_prompt("12/34") is None


@pytest.mark.parametrize("name,n", [("sudoku4", 4), ("sudoku6", 6)])
def test_sudoku_checkers_blame_the_conflicting_cells(name, n):
    t = get_task(name)
    ex = t.example("val", 0)
    sol = ex.answer
    assert t.check(ex, sol).correct
    assert not t.check(ex, sol[:-1]).correct  # a short row is a layout error
    # swap two digits of a row that are not clues: a column conflict, blamed at those cells
    rows = sol.split("/")
    puz = ex.prompt.split("/")
    for r in range(n):
        free = [c for c in range(n) if puz[r][c] == "."]
        if len(free) >= 2:
            a, b = free[:2]
            row = list(rows[r])
            row[a], row[b] = row[b], row[a]
            rows[r] = "".join(row)
            break
    res = t.check(ex, "/".join(rows))
    assert not res.correct
    assert r * (n + 1) + a in res.wrong_chars and r * (n + 1) + b in res.wrong_chars


def test_arith_cot_scores_the_final_number_and_blames_the_first_wrong_step():
    t = ArithCoTTask()
    ex = t.example("val", 1)
    assert t.check(ex, ex.answer).correct
    steps = ex.meta["chain"]
    first = steps[0]
    res_digits = first.split("=")[1].rstrip(".")
    wrong = ex.answer.replace(first, first.replace("=" + res_digits, "=" + str(int(res_digits) + 1)), 1)
    res = t.check(ex, wrong)
    assert res.correct  # the metric is the final N, which is unchanged
    assert res.wrong_chars[0] == wrong.index("=") + 1  # but the blame points at the wrong step
    final = ex.answer.rsplit(" ", 1)
    res = t.check(ex, final[0] + " " + str(int(final[1]) + 1))
    assert not res.correct and res.value == str(int(final[1]) + 1)


def test_rope_tinymdm_is_translation_aware_and_trains():
    tok = reasoning_tokenizer()
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=64, d_model=32, n_layers=2, n_heads=2,
                        pos_encoding="rope")
    torch.manual_seed(0)
    m = TinyMDM(cfg)
    assert not any("pos_emb" in k for k in m.state_dict())
    t = get_task("countdown")
    ids, real, ans = batch(tok, t, t.split("val", 8), with_answer=True)
    g = torch.Generator().manual_seed(0)
    loss, _ = mdm_loss(m, ids, tok.mask_id, g, maskable=ans, key_padding_mask=real, stratified=True)
    loss.backward()
    assert torch.isfinite(loss) and m.tok_emb.weight.grad.abs().sum() > 0
    # positions matter: the same tokens at other offsets give other outputs
    x = m.tok_emb(ids[:1, :12])
    y1 = m.hidden(x)
    y2 = m.hidden(torch.roll(x, 1, dims=1))
    assert not torch.allclose(torch.roll(y1, 1, dims=1), y2, atol=1e-4)


def test_arith_probe_masks_what_each_condition_names_and_scores_in_range():
    from boe_core.models.tiny_adapter import TinyMDMAdapter
    from boe_core.bench.studies.probe_arith import CONDITIONS, commit_order, masked_positions, probe, result_spans

    answer = "05+04=09. +03=12. Answer: 12"
    assert result_spans(answer) == [(6, 8), (14, 16)]
    assert masked_positions(answer, 1, "alone", 56) == [14, 15]
    assert masked_positions(answer, 0, "forward", 56) == list(range(6, 56))
    assert masked_positions(answer, 0, "results", 56) == [6, 7, 14, 15, 26, 27]
    tok = reasoning_tokenizer()
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=160, d_model=32, n_layers=1, n_heads=2,
                        pos_encoding="rope", task="reasoning")
    torch.manual_seed(0)
    report = probe(TinyMDMAdapter(TinyMDM(cfg), tok), n=6)
    steps = sum(len(result_spans(e.answer)) for e in get_task("arith-cot").split("val", 6))
    for c in CONDITIONS:
        assert report[c]["results"] == steps and 0.0 <= report[c]["accuracy"] <= 1.0
    order = commit_order(TinyMDMAdapter(TinyMDM(cfg), tok), ["confidence", "random"], n=2, split="val")
    first = order["policies"]["confidence"]
    assert order["first_policy_failures_after_step_1"] <= first["wrong"] <= 2
    assert first["same_step_on_first_policy_failures"] <= order["first_policy_failures_after_step_1"]


def test_countdown_probe_counts_operators_committed_in_one_step():
    """One token per step can never commit two operators together; one step for the whole canvas
    always does; exact match splits over the two groups."""
    from boe_core.models.tiny_adapter import TinyMDMAdapter
    from boe_core.bench.studies.probe_countdown import commit_report

    tok = reasoning_tokenizer()
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=160, d_model=32, n_layers=1, n_heads=2,
                        pos_encoding="rope", task="reasoning")
    torch.manual_seed(0)
    model = TinyMDMAdapter(TinyMDM(cfg), tok)
    one = commit_report(model, "confidence", 1, n=6, split="val")
    assert one["steps"] == 16 and one["operators_together"] == 0 and one["exact_match_together"] is None
    assert one["exact_match_apart"] == one["exact_match"]
    all_at_once = commit_report(model, "random", 16, n=6, split="val")
    assert all_at_once["steps"] == 1 and all_at_once["operators_together"] == 6 == all_at_once["problems"]


def test_word_units_mask_a_whole_word_together():
    from boe_core.models.tiny_mdm import word_units

    tok = reasoning_tokenizer()
    is_letter = torch.tensor([len(c) == 1 and c.isalpha() for c in map(tok.id_to_token, range(tok.vocab_size))])
    text = "Born in Oslo, Norway."
    ids = torch.tensor([tok.encode(text)] * 64)
    units = word_units(ids, is_letter)
    # one unit per word, one per space or punctuation mark
    assert units[0].tolist() == [0, 0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4, 5, 6, 7, 7, 7, 7, 7, 7, 8]
    # masking by unit: a word is all masked or all visible, in every row, at every ratio
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=32, d_model=16, n_layers=1, n_heads=2,
                        pos_encoding="rope", task="reasoning")
    m = TinyMDM(cfg)
    seen = []
    m.hidden = lambda x, key_padding_mask=None: (seen.append(x), x)[1]  # record the noisy embeddings
    mdm_loss(m, ids, tok.mask_id, torch.Generator().manual_seed(0), units=units, stratified=True)
    masked = (seen[0] == m.tok_emb.weight[tok.mask_id]).all(-1)
    for w in range(9):
        cols = masked[:, units[0] == w]
        assert (cols.all(1) | (~cols).all(1)).all()
    assert 0 < masked.float().mean() < 1
    # p_word = 0: one unit per token (plain character masking)
    plain = word_units(ids, is_letter, p_word=0.0, generator=torch.Generator().manual_seed(0))
    assert (plain == torch.arange(ids.shape[1])).all()


def test_block_states_show_earlier_blocks_and_hide_later_ones():
    from boe_core.models.tiny_mdm import block_states

    ans = torch.zeros(64, 14, dtype=torch.bool)
    ans[:, 2:14] = True  # a 12-position answer canvas, three blocks of 4
    maskable, always = block_states(ans, 4, 1.0, torch.Generator().manual_seed(0))
    seen_blocks = set()
    for r in range(64):
        may, must = maskable[r, 2:].tolist(), always[r, 2:].tolist()
        j = may.index(True) // 4  # the current block: the first one that may be masked
        seen_blocks.add(j)
        assert may == [False] * 4 * j + [True] * (12 - 4 * j)  # earlier blocks visible
        assert must == [False] * 4 * (j + 1) + [True] * (12 - 4 * (j + 1))  # later blocks hidden
        assert not maskable[r, :2].any() and not always[r, :2].any()  # never the prompt
    assert seen_blocks == {0, 1, 2}
    none_chosen = block_states(ans, 4, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(none_chosen[0], ans) and not none_chosen[1].any()
    # mdm_loss masks `always` whatever t, and weights those positions 1
    tok = reasoning_tokenizer()
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=16, d_model=16, n_layers=1, n_heads=2,
                        pos_encoding="rope", task="reasoning")
    m = TinyMDM(cfg)
    seen = []
    m.hidden = lambda x, key_padding_mask=None: (seen.append(x), x)[1]
    ids = torch.randint(4, tok.vocab_size, (64, 14))
    mdm_loss(m, ids, tok.mask_id, torch.Generator().manual_seed(0), maskable=maskable, always=always)
    masked = (seen[0] == m.tok_emb.weight[tok.mask_id]).all(-1)
    assert masked[always].all() and not masked[~maskable & ~always].any()
