"""The run inputs, declared once: each one's Gradio component, its API doc line, and whether it is
a decoding setting. The layout builds the components from here, the handlers get their signatures
(and so the API parameter names) from here, and the README's API table is checked against it.

Settings are addressed per policy. The API takes the chosen policy's settings as one JSON object
(`settings`); a setting left out takes that policy's default. The form has one input per (policy,
knob), grouped by policy, so switching the policy shows that policy's own knobs and defaults."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from boe_core.knobs import Knob, ui_value
from boe_core.policies import POLICIES


@dataclass(frozen=True)
class RunInput:
    name: str  # the handler parameter and API name
    doc: str
    make: Callable[[dict], gr.components.Component]  # UI defaults -> the component
    decode: bool = False  # a DecodeConfig setting (an argument of session.build_config)


def _num(label, key, **kw):
    return lambda d: gr.Number(value=d[key], label=label, **kw)


# The inputs every run has; the chosen policy's settings follow them (SETTINGS_INPUT).
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


def knob_component(k: Knob, value, policy: str, visible: bool = True) -> gr.components.Component:
    """The input of one knob of one policy, from that policy's declaration."""
    label = k.label + (f" ({k.none_label})" if k.none_label else "")
    common = dict(label=label, info=k.help or None, visible=visible, elem_id=f"knob-{policy}-{k.name}",
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


# --- the policy knobs of the form: one input per (policy, knob) --------------------------------------------
def scoped_knobs() -> tuple[tuple[str, Knob], ...]:
    """(policy, knob) for every knob of every registered policy, in menu order. Each policy's knobs
    are its own inputs, with its own defaults, labels and choices, even where two policies use the
    same name (BoE and lookahead both have `gate`, with other defaults)."""
    return tuple((name, k) for name, p in POLICIES.items() for k in p.knobs())


def scoped_name(policy: str, knob: str) -> str:
    return f"{policy}.{knob}"


def knob_value(policy: str, k: Knob, d: dict):
    """The first value of a policy's knob in the form: the form's settings where they are this
    policy's (a preset's), else the policy's default."""
    own = d.get("settings") or {}
    return own.get(k.name, k.default) if d.get("policy") == policy else k.default


def build_knobs(components: dict, d: dict) -> dict:
    """Create every policy's knob inputs, each policy's in its own group (visible when that policy
    is chosen), into `components` under their scoped names. Returns policy -> group."""
    groups = {}
    for name, p in POLICIES.items():
        knobs = p.knobs()
        if not knobs:
            continue
        with gr.Group(visible=d.get("policy") == name, elem_id=f"knobs-{name}") as groups[name]:
            for k in knobs:
                components[scoped_name(name, k.name)] = knob_component(k, knob_value(name, k, d), name)
    return groups


def form_settings(policy: str, scoped: tuple, values) -> dict:
    """The chosen policy's settings from the form's knob values (given in `scoped` order); the
    other policies' inputs are not read."""
    return {k.name: v for (owner, k), v in zip(scoped, values) if owner == policy}


# --- the run inputs of the API: the fixed ones and the chosen policy's settings ------------------------------
SETTINGS_INPUT = RunInput(
    "settings", "the chosen policy's settings as a JSON object, e.g. {\"rho\": 0.5}; a setting left out takes "
                "that policy's default; a name the policy does not have is refused",
    lambda d: gr.JSON(value={}, visible=False, label="settings"), decode=True)


def run_inputs() -> tuple[RunInput, ...]:
    return FIXED_INPUTS + (SETTINGS_INPUT,)


def names() -> tuple[str, ...]:
    return tuple(i.name for i in run_inputs())


def decode_names() -> tuple[str, ...]:
    return tuple(i.name for i in run_inputs() if i.decode)


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
    """The API's run input components in handler order (every input must have been built)."""
    missing = [n for n in names() if n not in components]
    if missing:
        raise RuntimeError(f"layout lacks run inputs {missing}")
    return [components[n] for n in names()]


def run_signature() -> inspect.Signature:
    """(sess, model, prompt, ..., seed, settings={}, overlay="none"): one named parameter per run input."""
    P = inspect.Parameter
    return inspect.Signature([P("sess", P.POSITIONAL_OR_KEYWORD)]
                             + [P(i.name, P.POSITIONAL_OR_KEYWORD,
                                  default=None if i is SETTINGS_INPUT else P.empty) for i in run_inputs()]
                             + [P("overlay", P.POSITIONAL_OR_KEYWORD, default="none")])


def takes_run_inputs(fn):
    """fn(sess, values: dict, overlay) -> the API handler (sess, model, prompt, ..., settings, overlay),
    so Gradio (and gradio_client) see one named parameter per run input."""
    def unpack(args, kwargs):
        a = run_signature().bind(*args, **kwargs)
        a.apply_defaults()
        return a.arguments["sess"], {n: a.arguments[n] for n in a.arguments if n not in ("sess", "overlay")}, \
            a.arguments["overlay"]

    return _wrap(fn, unpack, run_signature())


def takes_form_inputs(fn, scoped: tuple):
    """fn(sess, values: dict, overlay) -> the form's handler (sess, <fixed inputs>, <every scoped knob
    input>, overlay): the chosen policy's own inputs become `values["settings"]`."""
    fixed = tuple(i.name for i in FIXED_INPUTS)

    def unpack(args, kwargs):
        if kwargs or len(args) != 1 + len(fixed) + len(scoped) + 1:
            raise TypeError(f"the form handler takes {1 + len(fixed) + len(scoped) + 1} positional values")
        sess, rest, overlay = args[0], args[1:-1], args[-1]
        values = dict(zip(fixed, rest[:len(fixed)]))
        values["settings"] = form_settings(values.get("policy"), scoped, rest[len(fixed):])
        return sess, values, overlay

    return _wrap(fn, unpack, None)


def _wrap(fn, unpack, signature):
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            yield from fn(*unpack(args, kwargs))
    else:
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            return fn(*unpack(args, kwargs))
    if signature is not None:
        handler.__signature__ = signature
    else:  # positional values from the form (Gradio passes one per input component)
        del handler.__wrapped__
    return handler


def api_doc() -> str:
    """The inputs cell of the README's API table for /run, /step and /reset."""
    return ", ".join(i.name for i in run_inputs()) + ", overlay"
