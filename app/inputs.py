"""The run inputs, declared once: each one's Gradio component, its API doc line, and whether it is
a decoding setting. The layout builds the components from here, the handlers get their signatures
(and so the API parameter names) from here, and the README's API table is checked against it."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from boe_core import POLICIES
from boe_core.policies.boe import LINEARIZE_OPTIONS, QUAD_POINTS
from boe_core.policies.selection import GATES


@dataclass(frozen=True)
class RunInput:
    name: str  # the handler parameter and API name
    doc: str
    make: Callable[[dict], gr.components.Component]  # UI defaults -> the component
    decode: bool = False  # a DecodeConfig setting (an argument of session.build_config)


def _num(label, key, **kw):
    return lambda d: gr.Number(value=d[key], label=label, **kw)


RUN_INPUTS = (
    RunInput("model", "a shipped model or one given with --model",
             lambda d: gr.Dropdown(d["model_choices"], value=d["model"], label="Model", allow_custom_value=True,
                                   info="shipped models, plus any given with --model")),
    RunInput("prompt", "text to continue (reasoning models: a tagged problem, e.g. 'cd:3 5 7 2=18')",
             lambda d: gr.Textbox(value=d["prompt"], lines=3, label="Prompt", max_length=20000,
                                  placeholder="Text for the model to continue")),
    RunInput("gen_length", "tokens to generate (text models)",
             _num("Length (tokens to generate)", "gen_length", precision=0)),
    RunInput("puzzle", "81 characters, 0 or . for blanks (Sudoku)",
             lambda d: gr.Textbox(value=d["puzzle"], lines=2, label="Puzzle (81 characters; 0 or . = blank)",
                                  max_length=1000)),
    RunInput("policy", "random, confidence, margin, entropy, lookahead or boe",
             lambda d: gr.Dropdown(sorted(POLICIES), value=d["policy"], label="Policy"), decode=True),
    RunInput("steps", "decoding steps", _num("Steps", "steps", precision=0, min_width=100, elem_id="in-steps"),
             decode=True),
    RunInput("block_length", "semi-autoregressive block length (0 = one block)",
             _num("Block length (0 = one)", "block_length", precision=0, min_width=100), decode=True),
    RunInput("temperature", "0 = argmax proposals", _num("Temperature", "temperature", min_width=100), decode=True),
    RunInput("seed", "seed of the Gumbel noise and random order", _num("Seed", "seed", precision=0, min_width=100),
             decode=True),
    RunInput("r", "BoE candidates per step (0 = max(8, 4b))",
             _num("r · candidates per step (0 = max(8, 4b))", "r", precision=0), decode=True),
    RunInput("rho", "fraction of the masks used as probes",
             lambda d: gr.Slider(0.01, 1.0, value=d["rho"], step=0.01, label="ρ · fraction of masks used as probes"),
             decode=True),
    RunInput("gamma", "confidence exponent", _num("γ · confidence exponent", "gamma"), decode=True),
    RunInput("lam", "anti-collapse weight", _num("λ · anti-collapse weight", "lam"), decode=True),
    RunInput("h_max", "entropy floor at the end", _num("h_max · entropy floor at the end", "h_max"), decode=True),
    RunInput("tau_s", "soft-write temperature", _num("τ_s · soft-write temperature", "tau_s"), decode=True),
    RunInput("linearize_at", " or ".join(LINEARIZE_OPTIONS),
             lambda d: gr.Radio(list(LINEARIZE_OPTIONS), value=d["linearize_at"], label="Linearise at"), decode=True),
    RunInput("probe_scope", "canvas or block",
             lambda d: gr.Radio(["canvas", "block"], value=d["probe_scope"], label="Probe scope"), decode=True),
    RunInput("use_aqa", "sparse backward with ActiveQueryAttention",
             lambda d: gr.Checkbox(value=d["use_aqa"], label="ActiveQueryAttention (sparse backward)"), decode=True),
    # appended (not inserted) so that positional API calls keep their meaning
    RunInput("gate", " or ".join(GATES) + ": how confidence and the entropy signal combine",
             lambda d: gr.Radio(list(GATES), value=d["gate"], label="Gate (BoE and lookahead)"), decode=True),
    RunInput("tau_c", "confidence threshold of the threshold gate", _num("τ_c · threshold gate", "tau_c"), decode=True),
    RunInput("beta", "weight of the signal in the additive gate", _num("β · additive gate", "beta"), decode=True),
    RunInput("alpha", "write fraction of the midpoint linearisation, in (0, 1]", _num("α · midpoint", "alpha"),
             decode=True),
    RunInput("quad_points", "Gauss-Legendre points of the quadrature linearisation (2, 3 or 4)",
             lambda d: gr.Dropdown(list(QUAD_POINTS), value=d["quad_points"], label="k · quadrature points"),
             decode=True),
)
NAMES = tuple(i.name for i in RUN_INPUTS)
DECODE_NAMES = tuple(i.name for i in RUN_INPUTS if i.decode)
_BY_NAME = {i.name: i for i in RUN_INPUTS}


def build(components: dict, defaults: dict, *names: str) -> list:
    """Create the components of `names` (in the current layout block) into `components`."""
    made = []
    for n in names:
        components[n] = _BY_NAME[n].make(defaults)
        made.append(components[n])
    return made


def ordered(components: dict) -> list:
    """The run input components in handler order (every input must have been built)."""
    missing = [n for n in NAMES if n not in components]
    if missing:
        raise RuntimeError(f"layout lacks run inputs {missing}")
    return [components[n] for n in NAMES]


_SIGNATURE = inspect.Signature(
    [inspect.Parameter("sess", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in NAMES]
    + [inspect.Parameter("overlay", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="none")])


def takes_run_inputs(fn):
    """fn(sess, values: dict, overlay) -> a handler (sess, model, prompt, ..., use_aqa, overlay="none"),
    so Gradio (and gradio_client) see one named parameter per run input."""
    def unpack(args, kwargs):
        a = _SIGNATURE.bind(*args, **kwargs)
        a.apply_defaults()
        return a.arguments["sess"], {n: a.arguments[n] for n in NAMES}, a.arguments["overlay"]

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            yield from fn(*unpack(args, kwargs))
    else:
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            return fn(*unpack(args, kwargs))
    handler.__signature__ = _SIGNATURE
    return handler


def api_doc() -> str:
    """The inputs cell of the README's API table for /run, /step and /reset."""
    return ", ".join(NAMES) + ", overlay"
