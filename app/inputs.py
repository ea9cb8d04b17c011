"""The run inputs, declared once: each one's Gradio component, its API doc line, and whether it is
a decoding setting. The layout builds the components from here, the handlers get their signatures
(and so the API parameter names) from here, and the README's API table is checked against it."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from boe_core.knobs import Knob, ui_value
from boe_core.policies import POLICIES
from boe_core.policies.base import knob_table


@dataclass(frozen=True)
class RunInput:
    name: str  # the handler parameter and API name
    doc: str
    make: Callable[[dict], gr.components.Component]  # UI defaults -> the component
    decode: bool = False  # a DecodeConfig setting (an argument of session.build_config)
    knob: Knob | None = None  # a policy setting, described by its policy


def _num(label, key, **kw):
    return lambda d: gr.Number(value=d[key], label=label, **kw)


# The inputs every run has; the policies' knobs follow them (knob_inputs).
FIXED_INPUTS = (
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
    RunInput("policy", "a registered policy: " + ", ".join(POLICIES.names()),
             lambda d: gr.Dropdown(POLICIES.names(), value=d["policy"], label="Policy"), decode=True),
    RunInput("steps", "decoding steps", _num("Steps", "steps", precision=0, min_width=100, elem_id="in-steps"),
             decode=True),
    RunInput("block_length", "semi-autoregressive block length (0 = one block)",
             _num("Block length (0 = one)", "block_length", precision=0, min_width=100), decode=True),
    RunInput("temperature", "0 = argmax proposals", _num("Temperature", "temperature", min_width=100), decode=True),
    RunInput("seed", "seed of the Gumbel noise and random order", _num("Seed", "seed", precision=0, min_width=100),
             decode=True),
)


def knob_component(k: Knob, value, visible: bool = True) -> gr.components.Component:
    """The input of one knob, from its declaration."""
    label = k.label + (f" ({k.none_label})" if k.none_label else "")
    common = dict(label=label, info=k.help or None, visible=visible, elem_id=f"knob-{k.name}",
                  elem_classes=["knob", f"knob-{k.group or 'other'}"])
    value = ui_value(k, value)
    if k.kind == "bool":
        return gr.Checkbox(value=bool(value), **common)
    if k.kind == "choice":
        choices = list(k.choices or [])
        if len(choices) <= 4 and all(isinstance(c, str) for c in choices):
            return gr.Radio(choices, value=value, **common)
        return gr.Dropdown(choices, value=value, **common)
    lo, hi = k.range if k.range else (None, None)
    if k.step is not None and lo is not None and not k.optional:
        return gr.Slider(lo, hi, value=value, step=k.step, **common)
    return gr.Number(value=value, precision=0 if k.kind == "int" else None, minimum=lo, maximum=hi, **common)


def knob_inputs() -> tuple[RunInput, ...]:
    """One run input per knob of any registered policy (read now, so a policy registered before
    the demo is built brings its knobs along)."""
    def make(k):  # visible when the form's policy reads it
        return lambda d: knob_component(k, d.get(k.name, k.default), visible=k.name in knobs_of(d.get("policy")))

    return tuple(RunInput(k.name, k.describe() or k.label, make(k), decode=True, knob=k) for k in knob_table().values())


def run_inputs() -> tuple[RunInput, ...]:
    return FIXED_INPUTS + knob_inputs()


def names() -> tuple[str, ...]:
    return tuple(i.name for i in run_inputs())


def decode_names() -> tuple[str, ...]:
    return tuple(i.name for i in run_inputs() if i.decode)


def knob_names() -> tuple[str, ...]:
    return tuple(knob_table())


def knobs_of(policy: str) -> set[str]:
    """The knob names the policy reads (empty for an unknown name)."""
    p = POLICIES.find(policy)
    return {k.name for k in p.knobs()} if p is not None else set()


def build(components: dict, defaults: dict, *names: str) -> list:
    """Create the components of `names` (in the current layout block) into `components`."""
    by_name = {i.name: i for i in run_inputs()}
    made = []
    for n in names:
        components[n] = by_name[n].make(defaults)
        made.append(components[n])
    return made


def ordered(components: dict) -> list:
    """The run input components in handler order (every input must have been built)."""
    missing = [n for n in names() if n not in components]
    if missing:
        raise RuntimeError(f"layout lacks run inputs {missing}")
    return [components[n] for n in names()]


def run_signature() -> inspect.Signature:
    """(sess, model, prompt, ..., <every knob>, overlay="none"): one named parameter per run input."""
    P = inspect.Parameter
    return inspect.Signature([P("sess", P.POSITIONAL_OR_KEYWORD)]
                             + [P(n, P.POSITIONAL_OR_KEYWORD, default=_default(i)) for n, i in
                                ((i.name, i) for i in run_inputs())]
                             + [P("overlay", P.POSITIONAL_OR_KEYWORD, default="none")])


def _default(i: RunInput):
    """Knobs may be left out (the policy's default applies); the other inputs are required."""
    return i.knob.default if i.knob is not None else inspect.Parameter.empty


def takes_run_inputs(fn):
    """fn(sess, values: dict, overlay) -> a handler (sess, model, prompt, ..., overlay="none"), so
    Gradio (and gradio_client) see one named parameter per run input. The signature is read from
    the registry when the handler is made and again by `refresh` (when the demo is built)."""
    def unpack(handler, args, kwargs):
        a = handler.__signature__.bind(*args, **kwargs)
        a.apply_defaults()
        return a.arguments["sess"], {n: a.arguments[n] for n in a.arguments if n not in ("sess", "overlay")}, \
            a.arguments["overlay"]

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            yield from fn(*unpack(handler, args, kwargs))
    else:
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            return fn(*unpack(handler, args, kwargs))
    handler.__signature__ = run_signature()
    return handler


def refresh(*handlers) -> None:
    """Give run handlers the signature of the policies registered now."""
    sig = run_signature()
    for h in handlers:
        h.__signature__ = sig


def api_doc() -> str:
    """The inputs cell of the README's API table for /run, /step and /reset."""
    return ", ".join(i.name for i in FIXED_INPUTS) + ", <each policy knob>, overlay"
