"""`arith-cot`: 2-4-step arithmetic word problems with a short worked chain of thought and a final
`Answer: N`. Scored by exact match of N; the checker blames the first wrong step of the chain.

    prompt  "ar:Ann has 5 pens. She buys 3. She loses 2. How many pens?"
    answer  "05+03=08. -02=06. Answer: 06"

Sized for a small CPU-trained model:
- every value stays below 100 and the chain writes each number with two digits, so each step sits
  at a fixed place in the canvas;
- a step does not repeat the previous result as its left operand. With "05+03=08. 08-02=06." a
  masked model learns to copy each result from the next step (or back from it) instead of
  computing it: one forward pass with every copy masked got 9% of the results right, against 100%
  with the copies visible;
- amounts added or taken are 1-9.
The final N is compared as an integer.
"""
from __future__ import annotations

import random
import re

from .reasoning import Check, Example, ReasoningTask, register

NAMES = [("Ann", "She"), ("Bob", "He"), ("Eve", "She"), ("Tom", "He"), ("Mia", "She"), ("Sam", "He")]
ITEMS = ["pens", "cards", "coins", "books", "eggs", "shells"]
ADD = ["buys {n}", "finds {n}", "gets {n}"]
SUB = ["loses {n}", "gives away {n}", "sells {n}"]
MUL = {2: "doubles them", 3: "triples them"}
_STEP = re.compile(r"(\d*)([-+*])(\d+)=(\d+)")
_ANSWER = re.compile(r"Answer: ?(\d+)")


@register
class ArithCoTTask(ReasoningTask):
    name = "arith-cot"
    order = 4
    tag = "ar:"
    gen_length = 56

    def generate(self, rng: random.Random) -> Example:
        name, pron = rng.choice(NAMES)
        item = rng.choice(ITEMS)
        v = rng.randint(2, 20)
        sentences = [f"{name} has {v} {item}."]
        chain = []
        for _ in range(rng.randint(2, 4)):
            kinds = ["+"] + (["-"] if v > 1 else []) + (["*"] if v <= 12 else [])
            k = rng.choice(kinds)
            if k == "+":
                n = rng.randint(1, min(9, 99 - v))
                sentences.append(f"{pron} " + rng.choice(ADD).format(n=n) + ".")
                new = v + n
            elif k == "-":
                n = rng.randint(1, min(9, v - 1))
                sentences.append(f"{pron} " + rng.choice(SUB).format(n=n) + ".")
                new = v - n
            else:
                n = rng.choice((2, 3)) if v <= 12 else 2
                sentences.append(f"{pron} {MUL[n]}.")
                new = v * n
            chain.append(f"{v:02d}{k}{n:02d}={new:02d}." if not chain else f"{k}{n:02d}={new:02d}.")
            v = new
        sentences.append(f"How many {item}?")
        answer = " ".join(chain) + f" Answer: {v:02d}"
        return Example(self.name, " ".join(sentences), answer, {"value": v, "chain": chain})

    def check(self, example: Example, answer: str) -> Check:
        """Correct iff N matches (the metric). The blame points at the first chain step that differs
        from the reference (its result if only the result is off), even when N is right, else at N."""
        m = _ANSWER.search(answer)
        value = m.group(1) if m else None
        correct = value is not None and int(value) == example.meta["value"]
        ref = [_STEP.match(s) for s in example.meta["chain"]]
        for i, (r, g) in enumerate(zip(ref, _STEP.finditer(answer))):
            if g.groups() != r.groups():
                a, b = g.span(4) if g.group(1, 2, 3) == r.group(1, 2, 3) else g.span()
                return Check(correct, list(range(a, b)),
                             f"step {i + 1} reads {g.group()!r}, expected {r.group()!r}", value)
        if value is None:
            return Check(False, list(range(len(answer))), "no 'Answer: N'", None)
        if not correct:
            a, b = m.span(1)
            return Check(False, list(range(a, b)), f"answer {value}, expected {example.meta['value']}", value)
        return Check(True, [], f"Answer: {value}", value)
