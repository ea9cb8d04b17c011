"""Views of the reasoning-text tasks (one per registered task: `countdown`, `sudoku4`, `sudoku6`,
`arith-cot`) and of the multi-task `reasoning` model, which picks the sub-task from the prompt's tag
("cd:", "s4:", "ar:"). A model's config names its view: `reasoning`, or a task (`sudoku6`).

The canvas is `<tag><prompt>>` followed by the task's answer canvas (`gen_length` masks), one token
per character. Wrongness is the task's own `check(example, answer)`: the characters it blames, at
the end of the run; after step k, the blamed characters already committed by then. A task whose
checker labels each character (`Check.kinds`, `bio`) gets three error kinds instead of one: the
root of a wrong fact, its cascade (wrong text that follows from an earlier wrong fact), and other
wrong text.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache

import numpy as np
import torch

from ..canvas import prompt_canvas
from ..errors import ConfigError
from .fields import check_prompt
from .reasoning import SEP, SYMBOLS, Example, get_task, task_names, tasks_of_model
from .task import Task
from .views import CanvasPlan, ExampleChoice, canvas_at, commit_steps, register_view

D1_BLOCK = 32  # the d1 / LLaDA protocol's semi-autoregressive block length
SPLITS = ("val", "test")


def d1_block_length(gen_length: int, cap: int = D1_BLOCK) -> int | None:
    """None (one block) when the answer fits in one d1 block, else the largest divisor of
    gen_length that is at most `cap` (the schedule needs blocks that tile the canvas)."""
    if gen_length <= cap:
        return None
    return max(d for d in range(1, cap + 1) if gen_length % d == 0)


def _spells(adapter, text: str) -> bool:
    """The adapter's tokenizer is a character tokenizer with [EOS] that round-trips `text`."""
    tok = getattr(adapter, "tokenizer", None)
    if tok is None or getattr(tok, "eos_id", None) is None:
        return False
    try:
        ids = adapter.encode(text)
        return len(ids) == len(text) and adapter.decode(ids) == text
    except Exception:  # a vocabulary without the symbol and without [UNK] raises
        return False

N_EXAMPLES = 8  # val examples offered per task
BLAMED = {"sol": ("blamed by the checker", "wrong_cells")}
# Check.kinds -> error kind (the CSS class err-<kind>) and its legend label and step-data key
CASCADE_KINDS = {"root": ("root: a wrong fact", "root_cells"),
                 "cascade": ("cascade: follows from a wrong fact", "cascade_cells"),
                 "sol": ("other wrong text", "wrong_cells")}
_ERROR_KIND = {"root": "root", "cascade": "cascade", "wrong": "sol"}
_KIND_TIP = {"root": "✗ root: a wrong fact that no earlier wrong fact implies",
             "cascade": "✗ cascade: wrong, but follows from an earlier wrong fact",
             "wrong": "✗ wrong text"}
_SYMBOLS = set(SYMBOLS)


class _TraceVocab:
    """The few tokenizer attributes `ReasoningTask.decode_answer` reads, from a trace's vocabulary."""

    def __init__(self, trace):
        inv = {t: i for i, t in trace.id_to_token.items()}
        self.eos_id, self.pad_id = inv.get("[EOS]", -1), inv.get("[PAD]", -1)
        self.mask_id = trace.mask_id
        self._vocab = trace.id_to_token

    def id_to_token(self, i: int) -> str:
        return self._vocab.get(int(i), "?")


@lru_cache(maxsize=None)
def _offered(task_name: str) -> tuple:
    return tuple(get_task(task_name).split("val", N_EXAMPLES))


def _rebuilt(task, body: str) -> Example | None:
    """The example behind a typed prompt: an offered one, or one rebuilt from the prompt when the
    checker needs nothing else (`ReasoningTask.from_prompt`). None: no check."""
    for ex in _offered(task.name):
        if ex.prompt == body:
            return ex
    return task.from_prompt(body)


def padded_answer(adapter, text: str, n: int) -> torch.Tensor:
    """(n,) the answer's ids, cut to n and [EOS]-padded: the answer region as the oracle reads it."""
    a = adapter.encode(text)[:n]
    return torch.tensor(a + [adapter.tokenizer.eos_id] * (n - len(a)), dtype=torch.long)


class ReasoningView(Task):
    """A reasoning task (or, for the multi-task model, several) in one class: the explorer's view
    and, for a single task, the bench's side (seeded val/test splits, the prompt fixed and the
    answer canvas of `gen_length` masks right after it in a left-padded batch so the blocks line
    up, exact match by the task's checker, d1 blocks of at most 32)."""
    inputs = ("prompt",)
    fixed_label = "prompt"
    error_kinds = BLAMED
    metric = "exact_match"

    def __init__(self, name: str, task_names: tuple, block_length: int | None = None):
        self.name = name
        self.task_names = task_names
        if any(get_task(n).labels_cascades for n in task_names):
            self.error_kinds = CASCADE_KINDS
        self.rtask = get_task(task_names[0]) if len(task_names) == 1 else None
        if self.rtask is not None:
            self.order = 10 + self.rtask.order
            self.default_model = self.rtask.model
            self.gen_length = self.rtask.gen_length
            if block_length is not None and (not isinstance(block_length, int) or block_length < 1
                                             or self.gen_length % block_length):
                raise ConfigError("block_length", block_length,
                                  f"must be a positive divisor of {name}'s gen_length {self.gen_length}")
            self.block_length = block_length if block_length is not None else d1_block_length(self.gen_length)

    # --- bench ---------------------------------------------------------------------------------
    def with_options(self, options: dict) -> "ReasoningView":
        return ReasoningView(self.name, self.task_names, options.get("block_length"))

    def options(self):
        return {"gen_length": self.gen_length, "block_length": self.block_length}

    def decode_defaults(self):
        return {"block_length": self.block_length}

    def load(self, split, limit):
        if split not in SPLITS:
            raise ConfigError("split", split, f"must be one of {SPLITS} for the {self.name} task")
        if limit is not None and limit < 1:
            raise ConfigError("limit", limit, "must be a positive integer")
        return [{"id": i, "prompt": self.rtask.prompt_text(ex), "reference": ex.answer, "example": ex}
                for i, ex in enumerate(self.rtask.split(split, limit))]

    def canvas(self, adapter, examples):
        if not _spells(adapter, examples[0]["prompt"]):
            raise ConfigError("model", adapter.name, f"is not a reasoning model (its tokenizer does not spell the "
                                                     f"{self.name} prompts one character per token, or has no [EOS])")
        return prompt_canvas(adapter, [e["prompt"] for e in examples], self.gen_length)

    def answer_canvas(self, adapter, examples):
        """The reference answers ([EOS]-padded) in the answer canvas of `canvas`'s layout, -1 over the
        prompt and padding (for the oracle ceiling; a task with several right answers has one here)."""
        ids, _ = self.canvas(adapter, examples)
        end = ids.shape[1] - len(adapter.suffix_ids)
        target = torch.full_like(ids, -1)
        for i, e in enumerate(examples):
            target[i, end - self.gen_length:end] = padded_answer(adapter, e["reference"], self.gen_length)
        return target

    def answers(self, adapter, final) -> list[str]:
        n = final.shape[1] - len(adapter.suffix_ids)
        return [self.rtask.decode_answer(adapter.tokenizer, row[n - self.gen_length:n]) for row in final]

    def score(self, adapter, examples, final):
        out = []
        for e, ans in zip(examples, self.answers(adapter, final)):
            c = self.rtask.check(e["example"], ans)
            out.append({"exact_match": float(c.correct), "output": ans, "reference": e["reference"],
                        "reason": c.reason, "wrong_chars": json.dumps(c.wrong_chars)})
        return out

    # --- view ----------------------------------------------------------------------------------

    def _tasks(self):
        return [get_task(n) for n in self.task_names]

    def parse(self, prompt: str):
        """(task, problem text) of a tagged prompt; ConfigError naming `prompt` otherwise."""
        text = prompt.strip()
        text = text[:-len(SEP)] if text.endswith(SEP) else text
        for t in self._tasks():
            if text.startswith(t.tag):
                return t, text[len(t.tag):]
        tags = ", ".join(f"{t.tag} ({t.name})" for t in self._tasks())
        raise ConfigError("prompt", prompt[:40], f"must start with a task tag: {tags}")

    # --- inputs -------------------------------------------------------------------------------
    def examples(self) -> list[ExampleChoice]:
        return [ExampleChoice(f"{t.name} {i + 1}: {ex.prompt}", {"prompt": t.tag + ex.prompt, "steps": t.gen_length})
                for t in self._tasks() for i, ex in enumerate(_offered(t.name))]

    def default_values(self) -> dict:
        ex = self.examples()
        return {"prompt": ex[0].values["prompt"]} if ex else {}

    def default_steps(self, values: dict) -> int | None:
        try:
            return self.parse(check_prompt(values.get("prompt")))[0].gen_length
        except ConfigError:
            return None

    def check_values(self, values: dict) -> None:
        self.parse(check_prompt(values.get("prompt")))

    def build_canvas(self, adapter, values: dict) -> CanvasPlan:
        prompt = check_prompt(values.get("prompt"))
        task, body = self.parse(prompt)
        odd = sorted({c for c in body if c not in _SYMBOLS})
        if odd:
            raise ConfigError("prompt", prompt[:40], f"has characters the {task.name} task never uses: {''.join(odd[:10])!r}")
        ex = _rebuilt(task, body)
        ids = adapter.encode(task.prompt_text(Example(task.name, body, ""))) + [adapter.mask_id] * task.gen_length
        if adapter.max_length is not None and len(ids) > adapter.max_length:
            raise ConfigError("prompt", f"<{len(ids) - task.gen_length} tokens>",
                              f"prompt + answer = {len(ids)} tokens exceeds the model's context of {adapter.max_length}")
        notes = [] if ex is not None else [("info", "This prompt is not one of the offered examples: the answer "
                                                    "is shown but not checked.")]
        meta = {"task": self.name, "subtask": task.name, "prompt": prompt,
                "example": None if ex is None else asdict(ex)}
        canvas = torch.tensor([ids], dtype=torch.long)
        target = None  # an offered example's reference answer, [EOS]-padded, for the order ceiling
        if ex is not None and getattr(adapter.tokenizer, "eos_id", None) is not None:
            target = torch.full_like(canvas, -1)
            target[0, -task.gen_length:] = padded_answer(adapter, ex.answer, task.gen_length)
        return CanvasPlan(canvas, None, meta, notes, target)

    # --- the trace's task, example and answer ------------------------------------------------------
    def _prompt_of(self, trace) -> str:
        fixed = trace.fixed[0]
        return "".join(trace.id_to_token.get(int(t), "") for t, f in zip(trace.initial_canvas[0].tolist(), fixed) if f)

    def _task_of(self, trace):
        try:
            return self.parse(self._prompt_of(trace))
        except ConfigError:
            return None, None

    def _example(self, trace):
        task, body = self._task_of(trace)
        if task is None:
            return None, None
        saved = trace.meta.get("example") if isinstance(trace.meta, dict) else None
        if isinstance(saved, dict) and saved.get("prompt") == body:
            return task, Example(**saved)
        return task, _rebuilt(task, body)

    def _answer_start(self, trace) -> int:
        free = np.flatnonzero(~trace.fixed[0])
        return int(free[0]) if free.size else trace.initial_canvas.shape[1]

    def answer_at(self, trace, k: int) -> str:
        """The answer text after step k; a masked character reads as '_'."""
        task, _ = self._task_of(trace)
        ids = canvas_at(trace, k)[0][self._answer_start(trace):]
        return (task or get_task(self.task_names[0])).decode_answer(_TraceVocab(trace), ids.tolist())

    def _complete(self, trace, k: int) -> bool:
        """No mask left in the answer before its first [EOS] / [PAD]."""
        vocab = _TraceVocab(trace)
        for i in canvas_at(trace, k)[0][self._answer_start(trace):].tolist():
            if i in (vocab.eos_id, vocab.pad_id):
                return True
            if i == trace.mask_id:
                return False
        return True

    def check_at(self, trace, k: int):
        """The task's Check of the answer after step k, or None (no checker, or not complete)."""
        task, ex = self._example(trace)
        if ex is None or not self._complete(trace, k):
            return None
        return task.check(ex, self.answer_at(trace, k))

    # --- wrongness ----------------------------------------------------------------------------
    def can_check(self, trace) -> bool:
        return self._example(trace)[1] is not None

    def _blamed(self, trace) -> list[int]:
        """Positions the checker blames in the final answer (empty while it is incomplete)."""
        chk = self.check_at(trace, trace.num_steps - 1) if trace.records else None
        if chk is None:
            return []
        s, n = self._answer_start(trace), trace.initial_canvas.shape[1]
        return [s + j for j in chk.wrong_chars if s + j < n]

    def errors(self, trace, k: int) -> dict[str, dict[int, str]]:
        out = {kind: {} for kind in self.error_kinds}
        chk = self.check_at(trace, trace.num_steps - 1) if trace.records else None
        if chk is None:
            return out
        when = commit_steps(trace)
        s, n = self._answer_start(trace), trace.initial_canvas.shape[1]
        if chk.kinds is None or self.error_kinds is BLAMED:
            tip = f"✗ blamed by the checker: {chk.reason}"
            out["sol"] = {p: tip for p in self._blamed(trace) if 0 <= when[p] <= k}
            return out
        for j, kind in enumerate(chk.kinds):
            p = s + j
            if kind != "right" and p < n and 0 <= when[p] <= k:
                out[_ERROR_KIND[kind]][p] = f"{_KIND_TIP[kind]} ({chk.reason})"
        return out

    def first_wrong(self, trace) -> dict | None:
        blamed = self._blamed(trace)
        if not blamed:
            return None
        when = commit_steps(trace)
        p = min((p for p in blamed if when[p] >= 0), key=lambda p: (when[p], p), default=None)
        if p is None:
            return None
        out = self._commit_info(trace, p, when)
        out["reason"] = self.check_at(trace, trace.num_steps - 1).reason
        if self.error_kinds is CASCADE_KINDS:  # the first committed character of a root fact, if any
            roots = self.errors(trace, trace.num_steps - 1)["root"]
            r = min(roots, key=lambda q: (when[q], q), default=None)
            out["root"] = None if r is None else self._commit_info(trace, r, when)
        return out

    def _commit_info(self, trace, p: int, when) -> dict:
        ch = trace.id_to_token.get(int(trace.final_canvas[0, p]), "?")
        return {"step": int(when[p]), "position": int(p), "token": ch,
                "where": f"answer character {p - self._answer_start(trace) + 1} = {ch!r}"}

    def solved(self, trace, k: int) -> bool:
        chk = self.check_at(trace, k)
        return bool(chk is not None and chk.correct)

    def verdict(self, trace, k: int) -> list[tuple[str, str]]:
        out = super().verdict(trace, k)
        chk = self.check_at(trace, k) if k >= 0 else None
        if chk is not None and not chk.correct:  # wrong, though maybe no single commit is blamed
            out = [("bad", f"wrong answer: {chk.reason}")] + [b for b in out if b[0] != "ok"]
        return out

    def facts(self, trace, k: int) -> dict:
        out = super().facts(trace, k)
        task, _ = self._task_of(trace)
        out["subtask"] = None if task is None else task.name
        out["answer"] = self.answer_at(trace, k)
        return out

    def compare_facts(self, trace) -> dict:
        return {**super().compare_facts(trace), "text": self.answer_at(trace, trace.num_steps - 1)}


for _name in task_names():
    register_view(ReasoningView(_name, (_name,)))  # its bench entry is the task's own (reasoning.register)
register_view(ReasoningView("reasoning", tasks_of_model("reasoning")))  # the multi-task model's view only
