"""Command line: ``python -m boe_core generate --model kjv --policy boe --prompt "..."``."""
from __future__ import annotations

import argparse
import sys

from .config import DecodeConfig, policy_settings
from .errors import ConfigError, run_command
from .policies import POLICIES


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


def _knobs_by_name() -> dict:
    """knob name -> [(policy, Knob)] over every registered policy, in menu order."""
    out: dict = {}
    for name, p in POLICIES.items():
        for k in p.knobs():
            out.setdefault(k.name, []).append((name, k))
    return out


def add_knob_args(p) -> None:
    """One flag per knob name (`--tau-c 0.8`), scoped by --policy: the value goes to the chosen
    policy's own setting of that name, and a flag the chosen policy does not have is refused.
    The help text gives each owning policy's default."""
    g = p.add_argument_group("policy settings (scoped by --policy; each flag names the policies that have it)")
    for name, owners in _knobs_by_name().items():
        k = owners[0][1]
        defaults = "; ".join(f"{pol}: {kk.default}" for pol, kk in owners)
        g.add_argument(k.flag, dest=f"knob_{name}", default=None, metavar=k.kind.upper(),
                       help=f"{k.label}: {k.describe()} (default {defaults})")


def knob_values(a) -> dict:
    """The knob flags given on the command line, by knob name."""
    return {n: v for n in _knobs_by_name() if (v := getattr(a, f"knob_{n}", None)) is not None}


def _config(a) -> DecodeConfig:
    given = knob_values(a)
    if getattr(a, "no_aqa", False):
        given["use_aqa"] = False
    try:
        settings = policy_settings(a.policy, given)
    except ConfigError as e:  # say it with the flag the user typed
        if e.field.startswith("settings."):
            name = e.field.split(".", 1)[1]
            raise ConfigError("--" + name.replace("_", "-"), e.value, e.reason) from None
        raise
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
    if a.restarts > 1 or a.backtrack is not None:
        return _generate_with_search(model, cfg, kw, a)
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


def _generate_with_search(model, cfg, kw, a):
    """A Sudoku puzzle searched over view-hop decodes: `--restarts N` (boe_core.restarts) or
    `--backtrack UNDOS` (boe_core.backtrack); the grid the model believes most."""
    import math

    flag = "--backtrack" if a.backtrack is not None else "--restarts"
    value = a.backtrack if a.backtrack is not None else a.restarts
    if a.backtrack is not None and a.restarts > 1:
        raise ConfigError("--restarts", a.restarts, "give --restarts or --backtrack, not both")
    if a.trace:
        raise ConfigError("--trace", a.trace, f"is written for a single decode; drop {flag} to write one")
    if "canvas" not in kw:
        raise ConfigError(flag, value, "searches decode a --puzzle (a prompt's read-back has no gate measured); "
                                       f"drop {flag} for a prompt")
    if a.backtrack is not None:
        from .backtrack import BacktrackSettings, backtrack

        try:
            settings = BacktrackSettings(flips=a.backtrack).validate()
        except ConfigError as e:  # say it with the flag the user typed
            raise ConfigError("--backtrack", a.backtrack, e.reason) from None
        res = backtrack(model, kw["canvas"], config=cfg, settings=settings)
        said = f"{int(res.flips[0])} guess(es) undone"
    else:
        from .restarts import restart

        res = restart(model, kw["canvas"], config=cfg, attempts=a.restarts,
                      callback=lambda k, rows: a.quiet or print(f"decode {k + 1}", file=sys.stderr))
        said = f"{int(res.attempts[0])} decode(s), kept decode {int(res.kept[0]) + 1}"
    print(model.decode(res.final[0]))
    print(f"[{said}, {res.forwards[0]:.0f} forwards with read-backs; least believed digit "
          f"p = {math.exp(float(res.read_min[0])):.3f}]", file=sys.stderr)


def cmd_models(a):
    from .models import shipped_models

    for name in shipped_models():
        print(name)


def cmd_policies(a):
    """Each policy's own settings with its own defaults (the ones a run gets when they are left out)."""
    names = [a.policy] if a.policy else list(POLICIES.names())
    for name in names:
        knobs = POLICIES.get(name).knobs()
        print(f"{name}: " + (", ".join(f"{k.name}={k.default!r}" for k in knobs) or "(no settings)"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m boe_core", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="decode a prompt or puzzle and print the result")
    _add_decode_args(g)
    g.add_argument("--prompt", default=None)
    g.add_argument("--puzzle", default=None, help="Sudoku: 81 characters, 0 or . for blanks")
    g.add_argument("--gen-length", type=int, default=32)
    g.add_argument("--trace", default=None, help="write the trace (.json or .parquet)")
    g.add_argument("--restarts", type=int, default=1, help="Sudoku with view-hop: decode again from another view, "
                                                          "up to this many decodes, when the model doubts its grid")
    g.add_argument("--backtrack", type=int, default=None, metavar="UNDOS",
                   help="Sudoku with view-hop: undo the latest guess whenever the model doubts what it wrote, at "
                        "most UNDOS times (6 was chosen on hard val)")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_generate)
    m = sub.add_parser("models", help="list the shipped models")
    m.set_defaults(func=cmd_models)
    from .roots.cli import add_roots_parser  # `roots`: one run's commits, most suspect first

    add_roots_parser(sub, _add_decode_args, _config)
    pol = sub.add_parser("policies", help="list the policies with their own settings and defaults")
    pol.add_argument("policy", nargs="?", default=None)
    pol.set_defaults(func=cmd_policies)
    return run_command(p.parse_args(argv))
