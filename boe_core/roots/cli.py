"""``python -m boe_core roots``: decode one run (or load a trace) and print its commits, most suspect
of being the root of a cascade first.

    python -m boe_core roots --model sudoku --policy confidence --steps 12 --puzzle 53..7....6..195...
    python -m boe_core roots --trace run.json --model kjv --method leave-one-out --top 5
"""
from __future__ import annotations

import sys


def add_roots_parser(sub, add_decode_args, make_config) -> None:
    """The `roots` sub-command, with the decode flags of `generate` (`add_decode_args`) and their
    config builder (`make_config(args) -> DecodeConfig`)."""
    r = sub.add_parser("roots", help="rank one run's commits as the root of a cascade (no checker needed)")
    add_decode_args(r)
    r.add_argument("--prompt", default=None)
    r.add_argument("--puzzle", default=None, help="Sudoku: 81 characters, 0 or . for blanks")
    r.add_argument("--gen-length", type=int, default=32)
    r.add_argument("--trace", default=None, help="rank a saved trace (.json) instead of decoding")
    r.add_argument("--row", type=int, default=0)
    r.add_argument("--method", default=None, help="root finder (default: the measured best one-pass method)")
    r.add_argument("--top", type=int, default=10)
    r.set_defaults(func=lambda a: cmd_roots(a, make_config))


def cmd_roots(a, make_config) -> None:
    from ..errors import ConfigError
    from ..models import load_model
    from ..sampler import generate
    from ..trace import Trace
    from . import DEFAULT_METHOD, ROOT_FINDERS, order_of
    from ..counterfactuals import commits_of

    method = a.method or DEFAULT_METHOD
    finder = ROOT_FINDERS.get(method)  # refuse an unknown name before loading anything
    model = load_model(a.model, device=a.device, dtype=a.dtype, allow_remote_code=a.allow_remote_code)
    if a.trace:
        trace = Trace.from_json(a.trace)
    else:
        cfg = make_config(a)
        if a.puzzle is not None:
            from ..tasks.sudoku import puzzle_to_canvas

            ids, _ = puzzle_to_canvas(a.puzzle, model.tokenizer)
            trace = generate(model, canvas=ids[None], config=cfg)
        elif a.prompt is not None:
            trace = generate(model, a.prompt, gen_length=a.gen_length, config=cfg)
        else:
            raise ConfigError("prompt", None, "give --prompt TEXT, --puzzle 81-CHARS or --trace FILE")
    B = trace.initial_canvas.shape[0]
    if not (0 <= a.row < B):
        raise ConfigError("row", a.row, f"must be in [0, {B})")
    cm = commits_of(trace, a.row)
    scores = finder.score(model, trace, a.row)
    idx = {c: i for i, c in enumerate(cm)}
    print(model.decode(trace.final_canvas[a.row]))
    print(f"\n{method}: {len(cm)} commits, most suspect first", file=sys.stderr)
    print(f"{'rank':>4} {'step':>4} {'pos':>4} {'token':>12} {'conf':>7} {'score':>9}")
    for k, (s, p) in enumerate(order_of(scores, cm)[:a.top], start=1):
        tok = model.id_to_token(int(trace.records[s].canvas_after[a.row, p]))
        print(f"{k:>4} {s:>4} {p:>4} {tok!r:>12} {float(trace.records[s].confidence[a.row, p]):7.3f} "
              f"{scores[idx[(s, p)]]:9.3f}")
