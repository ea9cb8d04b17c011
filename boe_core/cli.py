"""Command line: ``python -m boe_core generate --model kjv --policy boe --prompt "..."``."""
from __future__ import annotations

import argparse
import sys

from .config import DecodeConfig
from .errors import ConfigError, run_command
from .knobs import settings_from_values
from .policies import POLICIES, get_policy
from .policies.base import knob_table


def _add_decode_args(p):
    d = DecodeConfig()
    p.add_argument("--model", default="kjv", help="shipped name (see `models`), local folder or hub id")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: the model's)")
    p.add_argument("--allow-remote-code", action="store_true", help="needed for LLaDA / Dream")
    p.add_argument("--policy", default="boe", help="one of: " + ", ".join(POLICIES.names()))
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--block-length", type=int, default=None)
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--seed", type=int, default=d.seed)
    add_knob_args(p)
    p.add_argument("--no-aqa", action="store_true", help="dense backward (same as --use-aqa false)")


def add_knob_args(p) -> None:
    """One flag per knob of any registered policy (`--tau-c 0.8`), from its declaration; values are
    parsed by the chosen policy's settings, so a flag another policy owns is ignored."""
    g = p.add_argument_group("policy knobs (each applies to the policies that have it)")
    for k in knob_table().values():
        g.add_argument(k.flag, dest=f"knob_{k.name}", default=None, metavar=k.kind.upper(),
                       help=f"{k.label}: {k.describe()} (default {k.default})")


def knob_values(a) -> dict:
    """The knob flags given on the command line, by knob name."""
    return {n: v for n in knob_table() if (v := getattr(a, f"knob_{n}", None)) is not None}


def _config(a) -> DecodeConfig:
    given = knob_values(a)
    if getattr(a, "no_aqa", False):
        given["use_aqa"] = False
    settings = settings_from_values(get_policy(a.policy).settings_cls, given, strict=False)
    return DecodeConfig(policy=a.policy, steps=a.steps, block_length=a.block_length,
                        temperature=a.temperature, seed=a.seed, settings=settings).validate()


def cmd_generate(a):
    from tqdm import tqdm

    from .models import load_model
    from .sampler import generate

    cfg = _config(a)  # refuse bad settings before loading anything
    model = load_model(a.model, device=a.device, dtype=a.dtype, allow_remote_code=a.allow_remote_code)
    kw = {}
    if a.puzzle is not None:
        from .tasks.sudoku import puzzle_to_canvas

        ids, _ = puzzle_to_canvas(a.puzzle, model.tokenizer)
        kw["canvas"] = ids[None]
    elif a.prompt is not None:
        kw.update(prompt=a.prompt, gen_length=a.gen_length)
    else:
        raise ConfigError("prompt", None, "give --prompt TEXT or --puzzle 81-CHARS")
    with tqdm(total=cfg.steps, desc=f"{cfg.policy} decoding", disable=a.quiet, file=sys.stderr) as bar:
        trace = generate(model, config=cfg, callback=lambda r: bar.update(1), **kw)
    text = model.decode(trace.final_canvas[0])
    print(text)
    cost = trace.cost()
    print(f"[{len(trace.records)} steps, {cost['forwards']} forwards, {cost['backwards']} backwards, "
          f"{cost['wall_time']:.2f}s]", file=sys.stderr)
    if a.trace:
        if a.trace.endswith(".parquet"):
            trace.to_parquet(a.trace)
        else:
            trace.to_json(a.trace)
        print(f"trace written to {a.trace}", file=sys.stderr)


def cmd_models(a):
    from .models import shipped_models

    for name in shipped_models():
        print(name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m boe_core", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="decode a prompt or puzzle and print the result")
    _add_decode_args(g)
    g.add_argument("--prompt", default=None)
    g.add_argument("--puzzle", default=None, help="Sudoku: 81 characters, 0 or . for blanks")
    g.add_argument("--gen-length", type=int, default=32)
    g.add_argument("--trace", default=None, help="write the trace (.json or .parquet)")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_generate)
    m = sub.add_parser("models", help="list the shipped models")
    m.set_defaults(func=cmd_models)
    return run_command(p.parse_args(argv))
