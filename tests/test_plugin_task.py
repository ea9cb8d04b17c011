"""A task added from this file alone, in one class: its rules, its explorer view and its bench
entry. The explorer's view lookup and the bench's `make_task` both find it."""
import numpy as np
import pytest
import torch

from boe_core import generate
from boe_core.bench import make_task
from boe_core.canvas import prompt_canvas
from boe_core.tasks.task import TASKS, Task, register_task
from boe_core.tasks.views import VIEWS, canvas_at, get_view

LETTERS = "abcdefghij"  # the tiny test model's alphabet


class Mirror(Task):
    """Write the prompt backwards: 'abc' -> 'cba'."""
    name = "mirror"
    metric = "exact_match"
    inputs = ("prompt",)

    # --- rules
    @staticmethod
    def answer(prompt: str) -> str:
        return prompt[::-1]

    # --- view
    def build_canvas(self, adapter, values):
        from boe_core.tasks.views import CanvasPlan

        prompt = values["prompt"]
        ids, am = prompt_canvas(adapter, prompt, len(prompt))
        return CanvasPlan(ids, am, {"task": self.name, "prompt": prompt})

    def can_check(self, trace):
        return "prompt" in trace.meta

    def errors(self, trace, k):
        canvas, *_ = canvas_at(trace, k)
        want = self.answer(trace.meta["prompt"])
        start = len(canvas) - len(want)
        wrong = {start + i: f"expected {c!r}" for i, c in enumerate(want)
                 if canvas[start + i] != trace.mask_id and trace.id_to_token.get(int(canvas[start + i])) != c}
        return {"wrong": wrong}

    # --- bench
    def load(self, split, limit):
        rng = np.random.default_rng(0 if split == "val" else 1)
        rows = ["".join(rng.choice(list(LETTERS), 4)) for _ in range(limit or 8)]
        return [{"id": i, "prompt": p} for i, p in enumerate(rows)]

    def canvas(self, adapter, examples):
        return prompt_canvas(adapter, [e["prompt"] for e in examples], 4)

    def score(self, adapter, examples, final):
        return [{"exact_match": float(adapter.decode(row[-4:].tolist()).replace(" ", "") == self.answer(e["prompt"])),
                 "output": adapter.decode(row[-4:].tolist())} for e, row in zip(examples, final)]


@pytest.fixture
def mirror():
    register_task(Mirror)
    yield
    VIEWS.pop("mirror")
    TASKS.pop("mirror")


def test_one_class_is_view_and_bench_task(tiny, mirror):
    view = get_view("mirror")
    assert isinstance(view, Mirror)
    task = make_task("mirror")
    assert isinstance(task, Mirror) and "mirror" in TASKS

    # the view: inputs -> canvas -> a decoded run, judged by the task's own rule
    plan = view.build_canvas(tiny, {"prompt": "abcd"})
    tr = generate(tiny, canvas=plan.ids, steps=4, policy="confidence")
    tr.meta.update(plan.meta)
    wrong = view.errors(tr, tr.num_steps - 1)["wrong"]
    text = tiny.decode(tr.final_canvas[0][-4:].tolist()).replace(" ", "")
    assert len(wrong) == sum(a != b for a, b in zip(text, "dcba"))

    # the bench: examples -> batch canvas -> scores
    ex = task.load("val", 3)
    ids, am = task.canvas(tiny, ex)
    assert ids.shape[0] == 3 and int((ids == tiny.mask_id).sum()) == 12
    right = ids.clone()
    for r, e in enumerate(ex):
        right[r, -4:] = torch.tensor(tiny.encode(Mirror.answer(e["prompt"])))
    assert [s["exact_match"] for s in task.score(tiny, ex, right.numpy())] == [1.0, 1.0, 1.0]
    assert [s["exact_match"] for s in task.score(tiny, ex, ids.numpy())] == [0.0, 0.0, 0.0]


def test_the_bench_sweep_runs_it(mirror, tmp_path):
    """The project's sweep decodes and scores the task by its own class: each example's output is
    the task's score of the sampler's canvas, and the cell's quality their mean."""
    import pandas as pd

    from boe_core import TinyMDMAdapter, load_model
    from boe_core.bench import Sweep, parse_specs, run_sweep
    from boe_core.bench.runner import task_base_config

    a = TinyMDMAdapter.random(seed=0)
    a.model.save_pretrained(tmp_path / "m")
    a.tokenizer.save(tmp_path / "m")
    out = tmp_path / "mirror.csv"
    df = run_sweep(Sweep(task=make_task("mirror"), model=str(tmp_path / "m"), specs=parse_specs(["confidence"]),
                         budgets=[4], split="val", limit=3, batch_size=2, out=out, progress=False,
                         backward_cost=1.0))
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["task"], row["metric"], row["n"], row["forwards"]) == ("mirror", "exact_match", 3, 4.0)
    ex = pd.read_parquet(tmp_path / "mirror_examples.parquet").sort_values("id")
    assert row["quality"] == pytest.approx(ex["exact_match"].mean())
    # by hand: the same examples, batches and config through generate and Mirror.score
    adapter, task = load_model(str(tmp_path / "m")), make_task("mirror")
    examples = task.load("val", 3)
    cfg = parse_specs(["confidence"])[0].config(steps=4, seed=0, base=task_base_config(task))
    want = []
    for batch in (examples[:2], examples[2:]):
        ids, am = task.canvas(adapter, batch)
        tr = generate(adapter, canvas=ids, attention_mask=am, config=cfg)
        want += task.score(adapter, batch, tr.final_canvas)
    assert ex["output"].tolist() == [w["output"] for w in want]
    assert ex["exact_match"].tolist() == [w["exact_match"] for w in want]


def test_the_bench_cli_lists_it(mirror):
    from boe_core.bench.cli import build_parser

    a = build_parser().parse_args(["pareto", "--task", "mirror", "--budgets", "2"])
    assert a.task == "mirror"


def test_unknown_task_names_the_field():
    from boe_core.errors import ConfigError

    with pytest.raises(ConfigError, match="task='nope'"):
        make_task("nope")


def test_one_registry_holds_every_task():
    """The reasoning tasks, the Sudoku task and the bench's text tasks are entries of one registry:
    a reasoning task's entry carries its rules, and `make_task` builds its view with options."""
    from boe_core.errors import ConfigError
    from boe_core.tasks.reasoning import ReasoningTask, get_task, task_names
    from boe_core.tasks.reasoning_view import ReasoningView

    assert {"sudoku", "kjv-infill", "arith-cot", "bio", "sudoku6"} <= set(TASKS.names())
    assert set(task_names()) == {n for n, e in TASKS.items() if e.rules is not None}
    assert TASKS.get("sudoku").rules is None and TASKS.get("kjv-infill").rules is None
    assert isinstance(get_task("arith-cot"), ReasoningTask) and get_task("arith-cot").name == "arith-cot"
    built = make_task("arith-cot", block_length=4)
    assert isinstance(built, ReasoningView) and built.block_length == 4 and built.rtask.name == "arith-cot"
    with pytest.raises(ConfigError, match="task='kjv-infill': is not a reasoning task"):
        get_task("kjv-infill")


def test_a_plugin_reasoning_task_registers_once():
    """`@register` on a ReasoningTask class adds one entry to TASKS (with its rules), nothing else."""
    from boe_core.tasks.reasoning import Check, Example, ReasoningTask, get_task, register, task_names

    class Echo(ReasoningTask):
        name, tag, gen_length = "echo-test", "ec:", 4

        def generate(self, rng):
            w = "".join(rng.choice(LETTERS) for _ in range(3))
            return Example(self.name, w, w)

        def check(self, example, answer):
            ok = answer == example.answer
            return Check(ok, [] if ok else [0], "right" if ok else "wrong")

    before = len(TASKS)
    register(Echo)
    try:
        assert len(TASKS) == before + 1 and TASKS.get("echo-test").rules is Echo
        assert "echo-test" in task_names() and get_task("echo-test").split("val", 2)[0].answer
    finally:
        TASKS.pop("echo-test")
    with pytest.raises(ValueError, match="ReasoningTask subclass"):
        register(Mirror)
