"""Reasoning written as text: the shared layout of the `countdown`, `sudoku4`, `sudoku6` and
`arith-cot` tasks.

Every example is a prompt followed by an answer canvas of a fixed, per-task length, in the d1 /
LLaDA SFT layout: `<task tag><prompt>>` then the answer, then [EOS] up to the canvas length. The
model decodes the answer canvas; the prompt is fixed.

Tokenizer: one token per character (`reasoning_tokenizer`). Why characters and not a small BPE:
- every digit is its own position, so the checker can point at the exact wrong character and the
  explorer shows the order in which the digits of a result were committed;
- the vocabulary is ~70 symbols, so the tied head costs nothing and no training data is needed
  to fit a tokenizer;
- the answers are short (16-48 characters), so sequence length is not a problem.

Splits are generated, not stored: an example is a pure function of (task, split, index), from a
`random.Random` seeded with a string that names all three. Train, val and test use different seed
strings, and `dedupe_against` keeps val/test prompts out of the training stream.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from functools import partial

import torch

from ..errors import ConfigError
from ..tokenization import MDMTokenizer, char_tokenizer
from .task import TASKS, register_bench
from .views import VIEWS

SPECIAL_TOKENS = {"mask_token": "[MASK]", "pad_token": "[PAD]", "eos_token": "[EOS]", "unk_token": "[UNK]"}
SYMBOLS = list(string.digits + string.ascii_letters + " .,:;?!+-*/=()>'#|_")
SEP = ">"  # ends every prompt: the answer canvas starts right after it
N_VAL = 500
N_TEST = 500
# What a checker may say of each answer character (`Check.kinds`): part of a right fact; a wrong
# fact that no earlier wrong fact implies; a wrong fact that follows from an earlier wrong one;
# any other wrong text.
CHAR_KINDS = ("right", "root", "cascade", "wrong")


def reasoning_tokenizer() -> MDMTokenizer:
    return char_tokenizer(SYMBOLS, SPECIAL_TOKENS)


@dataclass
class Example:
    """One problem. `answer` is the reference answer text (one of possibly many correct ones)."""
    task: str
    prompt: str
    answer: str
    meta: dict = field(default_factory=dict)


@dataclass
class Check:
    """What a checker says of a decoded answer.

    correct: the answer is right (exact match, or verified when several answers are right).
    wrong_chars: character offsets into the answer text that the checker blames (empty if correct
    or if no single character can be blamed).
    reason: one short human sentence.
    value: the extracted final value, when the task has one.
    kinds: one of CHAR_KINDS per answer character, when the checker tells a root error from its
    cascade (`bio`); None otherwise, and then every character in wrong_chars is plain wrong.
    """
    correct: bool
    wrong_chars: list[int]
    reason: str
    value: str | None = None
    kinds: list[str] | None = None


class ReasoningTask:
    """A task of the family: a seeded generator, a checker and a fixed answer-canvas length."""
    name: str = ""
    tag: str = ""  # a short prefix that tells a multi-task model which task it is solving
    gen_length: int = 32  # answer canvas length, [EOS]-padded
    model: str = "reasoning"  # the shipped model trained on this task (the bench's and eval's default)
    order: int = 100  # display order in tables and menus (lower first)
    labels_cascades: bool = False  # whether check() fills Check.kinds (root / cascade / other wrong)

    def generate(self, rng: random.Random) -> Example:
        raise NotImplementedError

    def check(self, example: Example, answer: str) -> Check:
        raise NotImplementedError

    def from_prompt(self, body: str) -> Example | None:
        """The example behind a typed problem text, when the checker needs nothing but the prompt
        (a Sudoku's clues, a countdown's numbers and target); None when it cannot be checked."""
        return None

    # --- splits ----------------------------------------------------------------------------
    def example(self, split: str, index: int) -> Example:
        if split not in ("train", "val", "test"):
            raise ValueError(f"split={split!r}: must be 'train', 'val' or 'test'")
        ex = self.generate(random.Random(f"boe-{self.name}-{split}-{index}"))
        if len(ex.answer) > self.gen_length:
            raise AssertionError(f"{self.name}: answer {ex.answer!r} longer than gen_length {self.gen_length}")
        return ex

    def split(self, split: str, n: int | None = None) -> list[Example]:
        n = n if n is not None else (N_VAL if split == "val" else N_TEST)
        return [self.example(split, i) for i in range(n)]

    def held_out_prompts(self) -> set[str]:
        return {e.prompt for s in ("val", "test") for e in self.split(s)}

    # --- text <-> canvas ---------------------------------------------------------------------
    def prompt_text(self, ex: Example) -> str:
        return f"{self.tag}{ex.prompt}{SEP}"

    def encode(self, tok: MDMTokenizer, ex: Example, with_answer: bool) -> tuple[list[int], int]:
        """(ids, answer_start). With the answer: prompt + answer + [EOS]*; without: + [MASK]*."""
        p = tok.encode(self.prompt_text(ex))
        if with_answer:
            a = tok.encode(ex.answer)
            a = a + [tok.eos_id] * (self.gen_length - len(a))
        else:
            a = [tok.mask_id] * self.gen_length
        return p + a, len(p)

    def decode_answer(self, tok: MDMTokenizer, answer_ids) -> str:
        """The answer text: characters up to the first [EOS]; a left [MASK] reads as '_'."""
        out = []
        for i in answer_ids:
            i = int(i)
            if i == tok.eos_id or i == tok.pad_id:
                break
            out.append("_" if i == tok.mask_id else tok.id_to_token(i))
        return "".join(out)


# --- registry --------------------------------------------------------------------------------
# A reasoning task is an entry of the one task registry (`boe_core.tasks.task.TASKS`) whose `rules`
# is its class; the bench builds it through the view of the same name, which
# `boe_core.tasks.reasoning_view` registers for each. Display order: 10 + the class's `order`.
def register(cls):
    """Class decorator: the ReasoningTask subclass `cls` becomes the task `cls.name`."""
    if not (isinstance(cls, type) and issubclass(cls, ReasoningTask)) or not cls.name:
        raise ValueError(f"{cls!r} must be a ReasoningTask subclass with a name")
    register_bench(cls.name, partial(_bench_task, cls.name), order=10 + cls.order, rules=cls)
    return cls


def _bench_task(name: str, options: dict):
    return VIEWS.get(name).with_options(options)


def task_names() -> tuple[str, ...]:
    """Every reasoning task's name in display order."""
    return tuple(e.name for e in TASKS.values() if e.rules is not None)


def tasks_of_model(model: str) -> tuple[str, ...]:
    """The reasoning tasks (display order) whose shipped model is `model`."""
    return tuple(n for n in task_names() if TASKS.get(n).rules.model == model)


def get_task(name: str) -> ReasoningTask:
    """An instance of the reasoning task `name` (a ConfigError, which is a KeyError too for an
    unknown name, names the field and value otherwise)."""
    rules = TASKS.get(name).rules
    if rules is None:
        raise ConfigError("task", name, f"is not a reasoning task; reasoning tasks: {', '.join(task_names())}")
    return rules()


def all_tasks() -> list[ReasoningTask]:
    """One instance of every reasoning task, sorted by name (the training cycle's order)."""
    return [get_task(n) for n in sorted(task_names())]


def batch(tok: MDMTokenizer, task: ReasoningTask, examples: list[Example], with_answer: bool):
    """Right-padded (ids (B, N), real (B, N) bool, answer (B, N) bool: the answer canvas)."""
    rows = [task.encode(tok, e, with_answer) for e in examples]
    n = max(len(r) for r, _ in rows)
    ids = torch.full((len(rows), n), tok.pad_id, dtype=torch.long)
    real = torch.zeros(len(rows), n, dtype=torch.bool)
    ans = torch.zeros(len(rows), n, dtype=torch.bool)
    for k, (r, a0) in enumerate(rows):
        ids[k, :len(r)] = torch.tensor(r)
        real[k, :len(r)] = True
        ans[k, a0:len(r)] = True
    return ids, real, ans
