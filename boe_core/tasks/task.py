"""A task in one class: its rules and examples, how the explorer shows it (it is a `TaskView`),
and how the bench scores it.

    @register_task
    class Reverse(Task):
        name = "reverse"                  # the view's name, the bench's --task and the model's `task`
        def build_canvas(self, adapter, values): ...   # explorer: inputs -> canvas
        def errors(self, trace, k): ...                # explorer: which positions are wrong
        def load(self, split, limit): ...              # bench: the examples of a split
        def canvas(self, adapter, examples): ...       # bench: a batch canvas
        def score(self, adapter, examples, final): ... # bench: one dict of metrics per example

`register_task` puts the one class in both places: an instance becomes the view of that name, and
`boe_core.bench.make_task(name, **options)` builds `cls.from_options(options)`.

`TASKS` is the one task registry: every task the bench can build by name, the generated reasoning
tasks among them (their entry also holds their rules: `boe_core.tasks.reasoning.register`), and the
bench's own text tasks (kjv-infill, kjv-gen, jsonl), which register when `boe_core.bench` is imported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..registry import Registry
from .views import TaskView, register_view


class Task(TaskView):
    """The bench side, beside the view's (see `TaskView`)."""
    metric = "exact_match"  # the per-example value averaged into the frontier's quality
    higher_is_better = True
    binary = True  # the metric is 0/1 per example (a Wilson interval applies)
    text = False  # outputs are text (distinct-n and gen-ppl apply)
    default_model: str | None = None
    gen_ppl_metric = False  # with --gen-ppl-model, generative perplexity becomes the metric

    @classmethod
    def from_options(cls, options: dict) -> "Task":
        """The bench's instance for `make_task(name, **options)`; tasks with options override this.
        Options the task does not use are ignored (the bench CLI passes all of them)."""
        return cls()

    def with_options(self, options: dict) -> "Task":
        """The same, for a task registered as an instance (one class serving several names)."""
        return type(self).from_options(options)

    def options(self) -> dict:
        """Settings that change the examples or the scores; part of every results key."""
        return {}

    def decode_defaults(self) -> dict:
        """DecodeConfig fields this task sets (e.g. its block length); policy specs override them."""
        return {}

    def load(self, split: str, limit: int | None) -> list[dict]:
        raise NotImplementedError

    def canvas(self, adapter, examples: list[dict]):
        """(ids (B, N) long, attention_mask (B, N) bool or None)."""
        raise NotImplementedError

    def score(self, adapter, examples: list[dict], final: np.ndarray) -> list[dict]:
        """One dict per example: the metric plus any extras (``output`` text is kept)."""
        raise NotImplementedError

    def answer_canvas(self, adapter, examples: list[dict]):
        """(B, N) long: the reference answer's token at each position of `canvas` (-1 where there is
        none), for a policy that reads the answer (the oracle ceiling); None when the task has no
        reference answer."""
        return None


@dataclass(frozen=True)
class TaskEntry:
    """A task by name: how the bench builds it from options, and, for a generated reasoning task,
    its rules (the `ReasoningTask` class: generator, checker, answer-canvas length)."""
    name: str
    make: Callable[[dict], Task]
    order: int = 100
    rules: type | None = None


# Every task by name, in display order; filled by boe_core.tasks (and boe_core.bench) on import.
TASKS: Registry[TaskEntry] = Registry("task")


def register_bench(name: str, make: Callable[[dict], Task], order: int = 100, rules: type | None = None) -> None:
    """An entry whose bench task is built by `make` (tasks whose bench class is not their view:
    one class for many names, or a reasoning task, whose view is registered apart)."""
    TASKS.register(TaskEntry(name, make, order, rules))


def register_task(task):
    """Register a `Task` once: as the view of its name and as the bench task of that name. Takes a
    class (an instance with default options is the view; `cls.from_options` builds bench ones; works
    as a class decorator) or an instance (it is the view; `instance.with_options` builds bench ones)."""
    is_cls = isinstance(task, type)
    if not (issubclass(task, Task) if is_cls else isinstance(task, Task)) or not task.name:
        raise ValueError(f"{task!r} must be a Task (class or instance) with a name")
    view = task() if is_cls else task
    register_view(view)
    register_bench(view.name, task.from_options if is_cls else view.with_options, getattr(view, "order", 100))
    return task
