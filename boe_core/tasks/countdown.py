"""`countdown`: 3-4 numbers and a target; answer with an arithmetic expression that uses every
number exactly once and evaluates to the target. Several answers can be right, so the checker
evaluates the expression instead of comparing strings.

Sized for a CPU-trained model:
- the numbers are single digits (1-9), so an answer has a fixed layout (5 characters for three
  numbers, 7 for four) and the model spends its capacity on the search, not on where digits go;
- the prompt lists the numbers in the order one solution uses them, so the search is over the
  operators (any other order still scores). With shuffled numbers a 2.7M-parameter model trained
  for two CPU-hours solved 3% of them in confidence order, too few to compare policies;
- 70% of the problems have three numbers (the d1 protocol's size), 30% four.

    prompt  "cd:3 5 7 2=18"      answer  "3*5+7-2"   (any correct expression scores)
"""
from __future__ import annotations

import ast
import operator
import random
import re
from collections import Counter

from .reasoning import Check, Example, ReasoningTask, register

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_TOKEN = re.compile(r"\d+|[-+*()]")


def evaluate(expr: str) -> int:
    """The integer value of an expression of non-negative integers, + - * and parentheses.
    Raises ValueError on anything else (division, unary minus, stray characters)."""
    if not expr or "".join(_TOKEN.findall(expr)) != expr:
        raise ValueError(f"not an expression of integers and + - * ( ): {expr!r}")
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"malformed expression {expr!r}") from e

    def ev(n):
        if isinstance(n, ast.BinOp) and type(n.op) in _OPS:
            return _OPS[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        raise ValueError(f"unsupported element in {expr!r}")

    return ev(tree)


@register
class CountdownTask(ReasoningTask):
    name = "countdown"
    order = 1
    tag = "cd:"
    gen_length = 16

    def generate(self, rng: random.Random) -> Example:
        while True:
            n = 3 if rng.random() < 0.7 else 4
            nums = [rng.randint(1, 9) for _ in range(n)]
            ops = [rng.choice("+-*") for _ in range(n - 1)]
            expr = str(nums[0])  # the prompt lists the numbers in the reference's order
            for o, x in zip(ops, nums[1:]):
                expr += o + str(x)
            target = evaluate(expr)
            if 1 <= target <= 100:
                prompt = " ".join(map(str, nums)) + f"={target}"
                return Example(self.name, prompt, expr, {"numbers": nums, "target": target})

    def check(self, example: Example, answer: str) -> Check:
        nums, target = example.meta["numbers"], example.meta["target"]
        try:
            value = evaluate(answer)
        except ValueError as e:
            return Check(False, list(range(len(answer))), str(e))
        used = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\d+", answer)]
        have = Counter(nums)
        wrong = []
        for s, a, b in used:
            if have[int(s)] > 0:
                have[int(s)] -= 1
            else:
                wrong.extend(range(a, b))
        if wrong:
            return Check(False, wrong, "uses a number that is not given (or uses one twice)", str(value))
        if sum(have.values()):
            missing = sorted(k for k, c in have.items() for _ in range(c))
            return Check(False, [], f"does not use {missing}", str(value))
        if value != target:
            return Check(False, list(range(len(answer))), f"evaluates to {value}, not {target}", str(value))
        return Check(True, [], f"= {target}", str(value))

    def from_prompt(self, body: str) -> Example | None:
        m = re.fullmatch(r"(\d+(?: \d+)*)=(\d+)", body)  # "3 5 7 2=18": the numbers and the target
        if m is None:
            return None
        return Example(self.name, body, "", {"numbers": [int(x) for x in m.group(1).split()], "target": int(m.group(2))})
