"""How long do the counterfactuals of one run take? (issue #27: each <= 10 s on one CPU thread)

    OMP_NUM_THREADS=1 python benchmarks/counterfactual_speed.py

Two runs: the default Sudoku run (shipped `sudoku` model, the first example puzzle, confidence,
12 steps) and a 24-token `english` run (confidence, 24 steps). Each is decoded once, then its
counterfactuals are timed (`--repeats` times, the best and the median reported) after
`estimate_forwards` says what they will cost. Prints a markdown table naming the machine.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from boe_core import counterfactuals, generate, load_model
from boe_core.counterfactuals import estimate_forwards


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}"


def runs():
    from boe_core.tasks.sudoku import load_examples, puzzle_to_canvas

    s = load_model("sudoku")
    ex = load_examples()[0]
    ids, _ = puzzle_to_canvas(ex["puzzle"], s.tokenizer)
    yield "sudoku (12 steps)", s, generate(s, canvas=ids[None], steps=12, policy="confidence")
    e = load_model("english")
    yield "english (24 tokens, 24 steps)", e, generate(e, "In the beginning God created the heaven and the earth",
                                                      gen_length=24, steps=24, policy="confidence")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    rows = []
    for name, model, trace in runs():
        est = estimate_forwards(trace)
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            cf = counterfactuals(model, trace, judge=None, store=False)
            times.append(time.perf_counter() - t0)
        rows.append((name, est["branches"], est["batched_forwards"], est["sequence_forwards"], cf.forwards,
                     min(times), float(np.median(times))))
    print(f"Machine: {machine()}\n")
    print("| run | branches | batched forwards (estimated) | sequence forwards | batched forwards (spent) "
          "| best s | median s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]:.2f} | {r[6]:.2f} |")


if __name__ == "__main__":
    main()
