"""Task views (boe_core.tasks.views): the registry, how each view builds a canvas, and what "wrong"
means, on small hand-made traces whose answers are known. No shipped model needed."""
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from boe_core import ConfigError, TinyMDMAdapter
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
from boe_core.tasks import sudoku as S
from boe_core.tasks.reasoning import get_task, reasoning_tokenizer
from boe_core.tasks.views import TaskView, get_view, register_view, view_for_trace, views

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reasoning_model():
    tok = reasoning_tokenizer()
    torch.manual_seed(0)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=160, d_model=16, n_layers=1, n_heads=2, task="reasoning")
    return TinyMDMAdapter(TinyMDM(cfg), tok, name="reasoning-test")


def fake_trace(tok, prompt_ids, answer_ids, order, meta):
    """A trace that commits `answer_ids` (after the fixed prompt) one position per step in `order`
    (offsets into the answer)."""
    final = np.array([prompt_ids + answer_ids])
    n, a0 = final.shape[1], len(prompt_ids)
    canvas = final.copy()
    canvas[0, a0:] = tok.mask_id
    initial, records = canvas.copy(), []
    for step, j in enumerate(order):
        masked = canvas == tok.mask_id
        chosen = np.zeros((1, n), bool)
        chosen[0, a0 + j] = True
        canvas = canvas.copy()
        canvas[0, a0 + j] = final[0, a0 + j]
        records.append(SimpleNamespace(step=step, chosen=chosen, canvas_after=canvas, masked=masked))
    return SimpleNamespace(initial_canvas=initial, fixed=initial != tok.mask_id, attention_mask=None,
                           mask_id=tok.mask_id, records=records, num_steps=len(records), final_canvas=canvas,
                           id_to_token={i: tok.id_to_token(i) for i in range(tok.vocab_size)}, meta=meta)


def answer_trace(view, model, prompt, answer, order=None):
    plan = view.build_canvas(model, {"prompt": prompt})
    tok = model.tokenizer
    task = get_task(plan.meta["subtask"])
    ids = tok.encode(answer) + [tok.eos_id] * (task.gen_length - len(answer))
    p_ids = plan.ids[0, :plan.ids.shape[1] - task.gen_length].tolist()
    order = list(range(task.gen_length)) if order is None else order
    return fake_trace(tok, p_ids, ids, order, plan.meta)


def test_registry_names_every_task_and_falls_back_to_text():
    assert {"text", "sudoku", "countdown", "sudoku4", "sudoku6", "arith-cot", "reasoning"} <= set(views())
    assert get_view("no-such-task").name == "text" and get_view(None).name == "text"

    class Toy(TaskView):
        name = "toy-task"

    register_view(Toy())
    assert get_view("toy-task").name == "toy-task" and "toy-task" in views()


def test_reasoning_view_picks_the_subtask_from_the_tag(reasoning_model):
    view = get_view(reasoning_model.task)
    assert view.name == "reasoning"
    ex = view.examples()
    assert len(ex) == 24 and [e.label.split()[0] for e in ex[::8]] == ["countdown", "sudoku4", "arith-cot"]
    assert [e.label.split()[0] for e in get_view("sudoku6").examples()] == ["sudoku6"] * 8  # its own model
    for e in ex[::8]:
        plan = view.build_canvas(reasoning_model, view.example_values(e.label))
        task = get_task(plan.meta["subtask"])
        assert e.values["prompt"].startswith(task.tag) and e.values["steps"] == task.gen_length
        text = reasoning_model.tokenizer.decode(plan.ids[0].tolist(), skip_special_tokens=False)
        assert text.startswith(e.values["prompt"] + ">") and int((plan.ids == reasoning_model.mask_id).sum()) == task.gen_length
        assert plan.meta["example"] is not None and not plan.notes
    with pytest.raises(ConfigError, match="prompt.*task tag"):
        view.build_canvas(reasoning_model, {"prompt": "3 5 7=12"})
    with pytest.raises(ConfigError, match="prompt"):
        view.build_canvas(reasoning_model, {"prompt": "cd:3 5 ~ 7=12"})
    assert view.default_steps({"prompt": "ar:Ann has 3 pens. How many pens?"}) == get_task("arith-cot").gen_length


def test_countdown_right_and_wrong_answers(reasoning_model):
    view = get_view("reasoning")
    ok = answer_trace(view, reasoning_model, "cd:3 5 7 2=20", "3*5+7-2")
    last = ok.num_steps - 1
    assert view.solved(ok, last) and view.first_wrong(ok) is None and not view.errors(ok, last)["sol"]
    assert ("ok", "solved ✓") in view.verdict(ok, last)
    assert not view.solved(ok, 3)  # not complete yet
    # "9" is not a given number: the checker blames it; its commit step is the first wrong one.
    order = [5, 6, 0, 1, 2, 3, 4] + list(range(7, 16))
    bad = answer_trace(view, reasoning_model, "cd:3 5 7 2=20", "3*5+9-2", order)
    fw = view.first_wrong(bad)
    a0 = int(np.flatnonzero(~bad.fixed[0])[0])
    assert fw["position"] == a0 + 4 and fw["step"] == order.index(4)
    assert not view.errors(bad, fw["step"] - 1)["sol"]
    assert set(view.errors(bad, fw["step"])["sol"]) == {a0 + 4}
    facts = view.facts(bad, bad.num_steps - 1)
    assert facts["subtask"] == "countdown" and facts["answer"] == "3*5+9-2" and facts["wrong_cells"] == [a0 + 4]
    assert not facts["solved"] and any("wrong answer" in t for _, t in view.verdict(bad, bad.num_steps - 1))


def test_sudoku4_and_unchecked_prompts(reasoning_model):
    view = get_view("reasoning")
    sol = "1234/3412/2143/4321"
    tr = answer_trace(view, reasoning_model, "s4:1.3./..1./2.../...1", sol)
    assert view.facts(tr, tr.num_steps - 1)["subtask"] == "sudoku4" and view.solved(tr, tr.num_steps - 1)
    wrong = answer_trace(view, reasoning_model, "s4:1.3./..1./2.../...1", "1234/3412/2143/4312")
    assert view.first_wrong(wrong) is not None and not view.solved(wrong, wrong.num_steps - 1)
    plan = view.build_canvas(reasoning_model, {"prompt": "ar:Ann has 3 pens. She buys 2. How many pens?"})
    assert plan.meta["example"] is None and plan.notes  # no reference: shown, not checked
    free = answer_trace(view, reasoning_model, "ar:Ann has 3 pens. She buys 2. How many pens?", "3+2=5. Answer: 5")
    assert not view.can_check(free) and view.verdict(free, free.num_steps - 1) == []


def test_sudoku_view_uses_the_rules_of_tasks_sudoku():
    view = get_view("sudoku")
    ex = S.load_examples()[0]
    tok = S.sudoku_tokenizer()
    p_ids, _ = S.puzzle_to_canvas(ex["puzzle"], tok)
    blanks = [i for i, ch in enumerate(ex["puzzle"]) if ch == "0"]
    sol = list(ex["solution"])
    i, j = blanks[0], blanks[1]
    sol[i], sol[j] = sol[j], sol[i]  # two swapped digits: wrong cells (and maybe rule breaks)
    final = S.puzzle_to_canvas("".join(sol), tok)[0].tolist()
    tr = fake_trace(tok, [], final, list(range(81)), {"task": "sudoku", "solution": ex["solution"]})
    tr.fixed = np.array([[ch != "0" for ch in ex["puzzle"]]])
    tr.initial_canvas = p_ids[None].numpy()
    tr.records = [r for r in tr.records if not tr.fixed[0][int(np.flatnonzero(r.chosen[0])[0])]]
    for s, r in enumerate(tr.records):
        r.step = s
    tr.num_steps = len(tr.records)
    fw = view.first_wrong(tr)
    expected = S.first_error_step(S.trace_commits(tr), ex["solution"], ex["puzzle"], tok)
    assert fw["step"] == expected == blanks.index(min(i, j))
    errs = view.errors(tr, tr.num_steps - 1)
    assert set(errs["sol"]) == {i, j} and not view.solved(tr, tr.num_steps - 1)
    assert view_for_trace(SimpleNamespace(meta={}, initial_canvas=tr.initial_canvas, mask_id=tok.mask_id,
                                          id_to_token=tr.id_to_token)).name == "sudoku"
    with pytest.raises(ConfigError, match="breaks a Sudoku rule"):
        view.build_canvas(None, {"puzzle": "11" + "0" * 79})


def test_the_app_has_no_task_switches():
    pattern = re.compile(r"task\s*==|is_sudoku|[\"']sudoku[\"']\s*(in|==)|==\s*[\"']sudoku[\"']")
    for path in [*(ROOT / "app").glob("*.py"), *(ROOT / "boe_core" / "bench").glob("*.py")]:
        hits = [ln for ln in path.read_text().splitlines() if pattern.search(ln)]
        assert not hits, f"{path.name}: {hits}"


def test_api_doc_lists_the_declared_run_inputs():
    from app.inputs import api_doc

    assert f"| {api_doc()} |" in (ROOT / "docs" / "explorer.md").read_text()


def test_the_app_runs_a_reasoning_model_end_to_end(reasoning_model, tmp_path):
    """Handler level, on a small random multi-task model saved like the shipped one: an example
    sets the prompt and the steps, a run shows the sub-task's answer and its verdict."""
    from app import handlers as H, models, ui
    from app.session import Session

    reasoning_model.model.save_pretrained(tmp_path / "r")
    reasoning_model.tokenizer.save(tmp_path / "r")
    name = str(tmp_path / "r")
    models.configure(extra=[name])
    try:
        d = H.default_inputs(name)
        assert d["task"] == "reasoning" and d["prompt"].startswith("cd:") and d["steps"] == get_task("countdown").gen_length
        label = get_view("reasoning").examples()[8].label
        prompt, _, _, steps = ui.on_example(label, name)
        assert prompt.startswith("s4:") and steps == get_task("sudoku4").gen_length
        kw = {k: v for k, v in d.items() if k != "task"}
        kw.update(model=name, prompt=prompt, steps=5, policy="confidence", settings={})
        sess = Session()
        out = list(H.run(sess, **kw))[-1]
        info = out[-2]
        assert info["task"] == "reasoning" and info["subtask"] == "sudoku4" and info["num_steps"] == 5
        assert "_" not in info["answer"] and info["solved"] is False  # a random model: complete and wrong
        assert 'class="boe-canvas boe-text"' in out[1] and "wrong answer" in out[2]
    finally:
        models.configure()


def test_a_single_task_reasoning_model_opens_in_its_own_view(tmp_path):
    """A model whose config names a task (the shipped `sudoku6`) gets that task's view: its
    examples, its canvas length, and a clear error for another task's prompt."""
    from app import handlers as H, models
    from app.session import Session

    tok = reasoning_tokenizer()
    torch.manual_seed(0)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=160, d_model=16, n_layers=1, n_heads=2,
                        task="sudoku6", pos_encoding="rope")
    TinyMDM(cfg).save_pretrained(tmp_path / "s6")
    tok.save(tmp_path / "s6")
    name = str(tmp_path / "s6")
    models.configure(extra=[name])
    try:
        d = H.default_inputs(name)
        assert d["task"] == "sudoku6" and d["prompt"].startswith("s6:") and d["steps"] == 48
        kw = {k: v for k, v in d.items() if k != "task"}
        kw.update(model=name, steps=6, policy="confidence", settings={})
        info = list(H.run(Session(), **kw))[-1][-2]
        assert info["task"] == "sudoku6" and info["subtask"] == "sudoku6" and info["num_steps"] == 6
        assert 0 < len(info["answer"]) <= 48 and "_" not in info["answer"]  # complete (random weights: no [EOS])
        with pytest.raises(ConfigError, match="prompt"):
            get_view("sudoku6").check_values({"prompt": "s4:.3.4/2.../..../4..1"})
    finally:
        models.configure()
