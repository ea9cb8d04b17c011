"""Benchmark tasks: examples, canvases, and per-example scores.

A task turns a split into a list of examples (dicts with a stable ``id``), builds a batch canvas
for the sampler, and scores the decoded canvas of every row. Everything here is deterministic
given the example list, so a batch decodes identically whichever process runs it.

* ``sudoku``      — solve rate on assets/data/sudoku/heldout_{val,test}.jsonl.
* ``kjv-infill``  — span-infilling exact match on held-out KJV verses (one contiguous span of
                    ``mask_ratio`` of the verse's tokens, placed by a per-verse seeded RNG).
* ``kjv-gen``     — free continuation of the first words of held-out verses (text quality:
                    distinct-n, and generative perplexity with ``--gen-ppl-model``).
* ``jsonl``       — exact match on any JSONL file with prompt and answer fields (GSM8K-style),
                    with a ``last-number`` or ``regex:PATTERN`` answer extractor.
* ``countdown``, ``sudoku4``, ``sudoku6``, ``arith-cot`` — reasoning written as text (boe_core.tasks.reasoning):
                    generated val/test splits, exact match by the task's checker, d1 blocks of 32.

Tasks are built by name from the ``TASKS`` registry (``make_task``); the runner asks a task, never
its name, for anything task-specific (``decode_defaults``, ``gen_ppl_metric``). A new task written
as one class (``boe_core.tasks.task.register_task``) appears here by itself.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..tasks.reasoning import task_names as reasoning_task_names
from ..tasks.reasoning_view import D1_BLOCK, ReasoningView, d1_block_length  # noqa: F401  (re-exported)
from ..tasks.sudoku_view import SudokuTask  # noqa: F401  (one class: the view and the bench task)
from ..tasks.task import TASKS, Task, register_bench
from ..tasks.views import VIEWS

SPLITS = ("val", "test")


def _limit(rows: list, limit: int | None) -> list:
    if limit is not None and limit < 1:
        raise ConfigError("limit", limit, "must be a positive integer")
    return rows[:limit] if limit else rows


# --- text helpers ----------------------------------------------------------------------------
def _right_padded(adapter, seqs: list[list[int]]):
    """Right-padded (ids, attention_mask): positions stay where training put them."""
    n = max(len(s) for s in seqs)
    pad = adapter.pad_id if adapter.pad_id is not None else adapter.mask_id
    ids = torch.full((len(seqs), n), pad, dtype=torch.long)
    am = torch.zeros((len(seqs), n), dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        am[i, :len(s)] = True
    return ids, (None if bool(am.all()) else am)


def _kjv_rows(split, limit):
    from ..tasks import kjv

    if split not in SPLITS:
        raise ConfigError("split", split, f"must be one of {SPLITS} for the KJV tasks")
    verses = kjv.load_verses(split)
    return _limit([{"id": i, "ref": kjv.reference(v), "text": v["text"]} for i, v in enumerate(verses)], limit)


class KJVInfillTask(Task):
    name = "kjv-infill"
    metric = "exact_match"
    text = True
    default_model = "kjv"

    def __init__(self, mask_ratio: float = 0.5, seed: int = 0):
        if not 0 < mask_ratio <= 1:
            raise ConfigError("mask_ratio", mask_ratio, "must be in (0, 1]")
        self.mask_ratio = mask_ratio
        self.seed = seed

    def options(self):
        return {"mask_ratio": self.mask_ratio, "example_seed": self.seed}

    def load(self, split, limit):
        return _kjv_rows(split, limit)

    def _example(self, adapter, e):
        from ..tasks.kjv import make_infill_example

        rng = random.Random(f"{self.seed}|{e['ref']}")  # per verse: independent of batching
        return make_infill_example(e["text"], self.mask_ratio, adapter.tokenizer, rng,
                                   max_length=adapter.max_length)

    def canvas(self, adapter, examples):
        if getattr(adapter, "tokenizer", None) is None or not hasattr(adapter.tokenizer, "eos_id"):
            raise ConfigError("model", adapter.name, "kjv-infill needs the KJV TinyMDM tokenizer")
        return _right_padded(adapter, [self._example(adapter, e)[0].tolist() for e in examples])

    def score(self, adapter, examples, final):
        out = []
        for e, row in zip(examples, final):
            canvas, fixed, target = self._example(adapter, e)
            L = len(target)
            got = torch.as_tensor(row[:L])
            span = ~fixed
            ok = got[span] == target[span]
            out.append({"exact_match": float(bool(ok.all())), "token_accuracy": float(ok.float().mean()),
                        "output": adapter.decode(got.tolist()),
                        "generated": adapter.decode(got[span].tolist())})
        return out


class PromptTask(Task):
    """Tasks whose canvas is a prompt followed by `gen_length` masks (left-padded batch)."""

    gen_length: int

    def canvas(self, adapter, examples):
        from ..canvas import prompt_canvas

        return prompt_canvas(adapter, [e["prompt"] for e in examples], self.gen_length)

    def generated(self, adapter, final) -> list[str]:
        """The decoded masked region of each row (before any suffix tokens such as [SEP])."""
        n = final.shape[1] - len(adapter.suffix_ids)
        return [adapter.decode(row[n - self.gen_length:n].tolist()) for row in final]


class KJVGenTask(PromptTask):
    """Continue the first `prompt_words` words of each held-out verse by `gen_length` tokens.
    Without a gen-ppl model the quality is distinct-2 of each sample (higher = less repetitive)."""
    name = "kjv-gen"
    metric = "distinct_2"
    binary = False
    text = True
    gen_ppl_metric = True
    default_model = "kjv"

    def __init__(self, gen_length: int = 32, prompt_words: int = 4):
        self.gen_length = gen_length
        self.prompt_words = prompt_words

    def options(self):
        return {"gen_length": self.gen_length, "prompt_words": self.prompt_words}

    def load(self, split, limit):
        rows = _kjv_rows(split, limit)
        for r in rows:
            r["prompt"] = " ".join(r["text"].split()[:self.prompt_words])
        return rows

    def score(self, adapter, examples, final):
        from .textmetrics import distinct_n

        out = []
        for e, gen in zip(examples, self.generated(adapter, final)):
            out.append({"distinct_2": distinct_n([gen], 2), "output": e["prompt"] + " " + gen, "generated": gen})
        return out


# --- generic JSONL exact match ---------------------------------------------------------------
_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def make_extractor(spec: str):
    """'last-number' (GSM8K style: commas dropped, trailing '.0' dropped), 'regex:PATTERN' (first
    group if the pattern has one, else the whole match; last match wins) or 'strip'."""
    if spec == "last-number":
        def f(text):
            nums = _NUM.findall(text or "")
            if not nums:
                return None
            s = nums[-1].replace(",", "")
            if "." in s:
                s = s.rstrip("0").rstrip(".")
            return s
        return f
    if spec == "strip":
        return lambda text: " ".join((text or "").split()) or None
    if spec.startswith("regex:"):
        try:
            pat = re.compile(spec[len("regex:"):])
        except re.error as err:
            raise ConfigError("extract", spec, f"is not a valid regular expression: {err}") from None

        def g(text):
            ms = list(pat.finditer(text or ""))
            if not ms:
                return None
            m = ms[-1]
            return (m.group(1) if pat.groups else m.group(0)).strip()
        return g
    raise ConfigError("extract", spec, "must be 'last-number', 'strip' or 'regex:PATTERN'")


class JsonlTask(PromptTask):
    name = "jsonl"
    metric = "exact_match"
    text = True

    def __init__(self, path, prompt_field="prompt", answer_field="answer", extract="last-number",
                 gen_length=64, template="{prompt}"):
        if not path:
            raise ConfigError("data", path, "the jsonl task needs --data FILE.jsonl (or a folder with val.jsonl / test.jsonl)")
        self.path = Path(path)
        self.prompt_field, self.answer_field = prompt_field, answer_field
        self.extract_spec = extract
        self.extract = make_extractor(extract)
        self.gen_length = gen_length
        self.template = template

    def options(self):
        return {"data": str(self.path), "prompt_field": self.prompt_field, "answer_field": self.answer_field,
                "extract": self.extract_spec, "gen_length": self.gen_length, "template": self.template}

    def _file(self, split):
        if self.path.is_dir():
            p = self.path / f"{split}.jsonl"
            if not p.is_file():
                raise ConfigError("split", split, f"{p} does not exist")
            return p
        if not self.path.is_file():
            raise ConfigError("data", str(self.path), "does not exist")
        return self.path

    def load(self, split, limit):
        rows = []
        for i, line in enumerate(self._file(split).read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("split") is not None and self.path.is_file() and r["split"] != split:
                continue  # one file holding several splits
            for f in (self.prompt_field, self.answer_field):
                if f not in r:
                    raise ConfigError("data", f"line {i + 1}", f"has no field {f!r}")
            gold = str(r[self.answer_field])
            rows.append({"id": len(rows), "prompt": self.template.format(prompt=r[self.prompt_field]),
                         "answer": gold, "gold": self.extract(gold) or gold.strip()})
        if not rows:
            raise ConfigError("data", str(self.path), f"has no examples for split {split!r}")
        return _limit(rows, limit)

    def score(self, adapter, examples, final):
        out = []
        for e, gen in zip(examples, self.generated(adapter, final)):
            pred = self.extract(gen)
            out.append({"exact_match": float(pred is not None and pred == e["gold"]), "prediction": pred or "",
                        "output": gen, "generated": gen})
        return out


# --- reasoning written as text: one class each, their views (boe_core.tasks.reasoning_view) ---------
def ReasoningBenchTask(name: str, block_length: int | None = None):
    """The bench side of the reasoning task `name` (its view, with these options)."""
    view = VIEWS.find(name)
    if not isinstance(view, ReasoningView) or len(view.task_names) != 1:
        raise ConfigError("task", name, f"unknown reasoning task; known: {', '.join(reasoning_task_names())}")
    return view.with_options({"block_length": block_length})


# --- the registry ----------------------------------------------------------------------------------
# The bench tasks without a view of their own (they show as plain text). A task written as one
# class (boe_core.tasks.task.register_task: sudoku) registers itself and needs nothing here.
register_bench("kjv-infill", lambda kw: KJVInfillTask(kw.get("mask_ratio", 0.5), kw.get("example_seed", 0)), order=1)
register_bench("kjv-gen", lambda kw: KJVGenTask(kw.get("gen_length") or 32, kw.get("prompt_words", 4)), order=2)
register_bench("jsonl", lambda kw: JsonlTask(kw.get("data"), kw.get("prompt_field", "prompt"),
                                             kw.get("answer_field", "answer"), kw.get("extract", "last-number"),
                                             kw.get("gen_length") or 64, kw.get("template", "{prompt}")), order=3)


def make_task(name: str, **kw) -> Task:
    """The bench task `name`, built with its options (a ConfigError names unknown tasks)."""
    return TASKS.get(name).make(kw)
